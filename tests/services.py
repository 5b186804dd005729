"""Real Redis and PostgreSQL for the test session, started by the tests themselves.

No system service is used: each server runs from a temporary directory on a free
127.0.0.1 port and is stopped (and its directory removed) when the session ends, even
after a failure. Fault tests may ``stop()`` and ``start()`` a server mid-run: it comes back
on the same port with the same data directory, so URLs handed out earlier stay valid.

A missing binary skips the tests that need it locally, but fails them when ``CI=true``:
in CI a missing service is a broken machine, never a reason to test less.

Register the fixtures once, in ``tests/conftest.py``::

    pytest_plugins = ["tests.services"]
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
COMMAND_TIMEOUT_S = 60.0
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def running_in_ci() -> bool:
    """True when the ``CI`` environment variable says so (``true``, ``1`` or ``yes``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def service_missing(reason: str) -> None:
    """Skip the requesting test locally; fail it in CI. Never returns."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; raises TimeoutError naming ``what`` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run(command: list[str], log: Path) -> None:
    """Run a short command, its output appended to ``log``; raises RuntimeError on failure.

    Output goes to a file, not a pipe: a daemon that inherited a pipe would keep the
    reader waiting for an EOF that never comes.
    """
    with log.open("ab") as out:
        out.write(f"$ {shlex.join(command)}\n".encode())
        out.flush()
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{command[0]} timed out:\n{_tail(log)}") from exc
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited {result.returncode}:\n{_tail(log)}")


def _process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie left for a non-reaping init counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return "\nState:\tZ" in status


class RedisServer:
    """A redis-server without persistence, daemonized on a free port of 127.0.0.1."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="herald-redis-"))
        self._pid: int | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._pid is not None

    def start(self) -> None:
        """Start (or restart) on the same port; returns once it answers PING."""
        if self.running:
            return
        pidfile = self.directory / "redis.pid"
        pidfile.unlink(missing_ok=True)
        log = self.directory / "redis.log"
        options = {
            "bind": HOST,
            "port": str(self.port),
            "save": "",
            "appendonly": "no",
            "daemonize": "yes",
            "dir": str(self.directory),
            "pidfile": str(pidfile),
            "logfile": str(log),
        }
        command = [self.binary]
        for name, value in options.items():
            command += [f"--{name}", value]
        _run(command, self.directory / "commands.log")
        try:
            wait_until(self._answers_ping, START_TIMEOUT_S, f"redis-server on port {self.port}")
            wait_until(pidfile.exists, START_TIMEOUT_S, "redis.pid")
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}\n{_tail(log)}") from exc
        self._pid = int(pidfile.read_text().strip())

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after STOP_TIMEOUT_S); returns once it is gone."""
        pid, self._pid = self._pid, None
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: _process_gone(pid), STOP_TIMEOUT_S, f"redis-server {pid} to exit")
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: _process_gone(pid), STOP_TIMEOUT_S, f"redis-server {pid} killed")
        wait_until(lambda: not port_is_open(self.port), STOP_TIMEOUT_S, "redis port to close")

    def flushall(self) -> None:
        """Delete every key of every database."""
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            client.flushall()

    def close(self) -> None:
        """Stop it and remove its directory; safe to call more than once."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _answers_ping(self) -> bool:
        try:
            with redis.Redis(host=HOST, port=self.port, socket_timeout=1) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False


class PostgresServer:
    """A throwaway PostgreSQL cluster (trust auth, no durability) on a free 127.0.0.1 port.

    PostgreSQL refuses to run as root, so as root its commands run as the ``postgres``
    user, in a directory under /tmp that user owns.
    """

    default_database = "herald"

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        """``durable=True`` keeps PostgreSQL's fsync and synchronous commits (benchmarks)."""
        self.bin_dir = bin_dir
        self.durable = durable
        self.port = free_port()
        as_root = os.geteuid() == 0
        self.directory = Path(
            tempfile.mkdtemp(prefix="herald-pg-", dir="/tmp" if as_root else None)
        )
        self.data_dir = self.directory / "data"
        self._as_root = as_root
        if as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._initialized = False
        self.running = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default database: ``postgresql+asyncpg://postgres@…/herald``."""
        return self.url_for(self.default_database)

    @property
    def dsn(self) -> str:
        """libpq/asyncpg DSN of the default database: ``postgresql://postgres@…/herald``."""
        return self.dsn_for(self.default_database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/{database}"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        """Start (or restart) on the same port and data directory; returns once it accepts."""
        if self.running:
            return
        if not self._initialized:
            self._initdb()
        log = self.directory / "pg.log"
        timeout = str(int(START_TIMEOUT_S))
        try:
            self._pg(
                ["pg_ctl", "-D", str(self.data_dir), "-l", str(log), "-w", "-t", timeout, "start"]
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- pg.log ---\n{_tail(log)}") from exc
        self.running = True
        if not self._initialized:
            self._initialized = True
            self.create_database(self.default_database)

    def stop(self, mode: str = "fast") -> None:
        """Stop it (``fast``: open sessions are cut; ``immediate``: as a crash would, no
        shutdown checkpoint); returns once it is down."""
        if not self.running:
            return
        self.running = False
        timeout = str(int(STOP_TIMEOUT_S))
        stop = ["pg_ctl", "-D", str(self.data_dir), "-w", "-t", timeout, "stop", "-m"]
        try:
            self._pg([*stop, mode])
        except RuntimeError:
            # Never leave a postmaster behind: `immediate` skips the shutdown checkpoint.
            with contextlib.suppress(RuntimeError):
                self._pg([*stop, "immediate"])
            raise

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its SQLAlchemy URL."""
        self._sql(f'CREATE DATABASE "{_checked(name)}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting whoever is still in it."""
        self._sql(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')

    def close(self) -> None:
        """Stop it and remove its directory; safe to call more than once."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _initdb(self) -> None:
        options = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        self._pg(["initdb", "-D", str(self.data_dir), *options])
        settings = {
            "port": str(self.port),
            "listen_addresses": f"'{HOST}'",
            "unix_socket_directories": f"'{self.directory}'",
            "max_connections": "200",
        }
        if not self.durable:
            # Tests need no durability; these make them several times faster.
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# herald tests\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _sql(self, statement: str) -> None:
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", "postgres"]
        _run([*command, "-c", statement], self.directory / "commands.log")

    def _pg(self, command: list[str]) -> None:
        command = [str(self.bin_dir / command[0]), *command[1:]]
        if self._as_root:
            command = _as_postgres_user(command)
        _run(command, self.directory / "commands.log")


def _checked(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


def _as_postgres_user(command: list[str]) -> list[str]:
    """``command`` wrapped to run as the ``postgres`` user (we are root)."""
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]


def find_redis_server() -> str | None:
    """Path of redis-server on PATH, or None."""
    return shutil.which("redis-server")


def find_postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin (else pg_ctl's directory on PATH), or None."""
    candidates = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/postgres")
        if path.parent.parent.name.isdigit() and (path.parent / "initdb").exists()
    ]
    if candidates:
        return max(candidates, key=lambda bin_dir: int(bin_dir.parent.name))
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _postgres_user_exists() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A running RedisServer for the whole session; stopped and removed at its end."""
    binary = find_redis_server()
    if binary is None:
        service_missing("redis-server is not on PATH (apt-get install redis-server)")
    assert binary is not None
    server = RedisServer(binary)
    atexit.register(server.close)  # in case the session dies before its teardown
    try:
        server.start()
        yield server
    finally:
        server.close()
        atexit.unregister(server.close)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgresServer for the whole session; stopped and removed at its end."""
    yield from _running_postgres(durable=False)


@pytest.fixture(scope="module")
def durable_postgres_server() -> Iterator[PostgresServer]:
    """A running PostgresServer that keeps what it commits through a crash (fsync and
    synchronous commits on), for the tests that crash it; one per test module."""
    yield from _running_postgres(durable=True)


def _running_postgres(durable: bool) -> Iterator[PostgresServer]:
    bin_dir = find_postgres_bin_dir()
    if bin_dir is None:
        service_missing("PostgreSQL is not installed (apt-get install postgresql)")
    assert bin_dir is not None
    if os.geteuid() == 0 and not _postgres_user_exists():
        service_missing("running as root but there is no 'postgres' user to run PostgreSQL")
    server = PostgresServer(bin_dir, durable=durable)
    atexit.register(server.close)
    try:
        server.start()
        yield server
    finally:
        server.close()
        atexit.unregister(server.close)
