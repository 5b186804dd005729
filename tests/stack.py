"""A real multi-process Herald for production-mode tests: PostgreSQL, Redis, and
``herald api``, ``herald worker`` and ``herald scheduler`` as separate processes.

Each ``HeraldStack`` gets a fresh database on the session's PostgreSQL and an emptied
Redis, migrates it with ``herald migrate``, creates a project with ``herald project create
--json``, then starts the processes. Every process runs in its own session (process
group), so a kill reaches the Dramatiq supervisor and its worker children alike; its
output goes to a file under the test's tmp dir, and ``tails()`` shows the end of each.

    stack = HeraldStack(postgres_server, redis_server, tmp_path, workers=2, schedulers=2)
    with stack:                                 # start() ... stop(), logs dumped on error
        async with stack.client() as api:       # httpx, authenticated as the project
            ...
        stack.kill_worker(0)                    # SIGKILL the whole worker process group
        stack.start_worker(0)

Timings are compressed through the HERALD_* environment (retries, timeout, scheduler
interval, requeue-after); every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from tests.conftest import ProjectKey
from tests.services import PostgresServer, RedisServer, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0
WORKER_READY_LINE = "Worker process is ready for action"

# The compressed timings of production-mode tests; a test may override any of them.
DEFAULT_ENV: Mapping[str, str] = {
    "HERALD_SECRET_KEY": "ce2d6328852ad080146619328b1b3e176a3cd99ba39a8eae9a8ef802c3365e86",
    "HERALD_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
    "HERALD_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1",
    "HERALD_REQUEST_TIMEOUT": "2",
    "HERALD_SCHEDULER_INTERVAL": "0.2",
    "HERALD_REQUEUE_AFTER": "5",
    "HERALD_LOG_LEVEL": "INFO",
}

_database_numbers = itertools.count(1)


def herald_command(*args: str) -> list[str]:
    """``herald <args>`` run by this interpreter (works whether or not the package's
    console script is installed in the venv)."""
    return [sys.executable, "-m", "app.cli", *args]


class HeraldProcess:
    """One Herald process in its own process group, logging to ``log_path``."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: Mapping[str, str],
        log_path: Path,
        command: list[str] | None = None,
    ):
        """``command`` replaces ``herald <args>`` for a helper process (a bench receiver)."""
        self.name = name
        self.args = args
        self.command = command or herald_command(*args)
        self.env = dict(env)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Start it (appending to its log); a no-op while it runs."""
        if self.alive:
            return
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.name}: {' '.join(self.command)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group (no clean-up runs); returns once it is reaped."""
        self._signal_group(signal.SIGKILL)
        self._reap(STOP_TIMEOUT_S)

    def terminate(self) -> None:
        """Ask the whole process group to stop (SIGTERM); see ``finish``."""
        self._signal_group(signal.SIGTERM)

    def finish(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for a terminated process, then SIGKILL its group (also
        reaching children that outlived their leader)."""
        if self._popen is None:
            return
        if not self._reap(max(timeout_s, 0.0)):
            self._signal_group(signal.SIGKILL)
            self._reap(STOP_TIMEOUT_S)
        self._signal_group(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``STOP_TIMEOUT_S``."""
        self.terminate()
        self.finish(STOP_TIMEOUT_S)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _signal_group(self, signum: int) -> None:
        if self._popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._popen.pid, signum)

    def _reap(self, timeout_s: float) -> bool:
        assert self._popen is not None
        try:
            self._popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True


class HeraldStack:
    """Herald in production mode over the session's PostgreSQL and Redis; see the module."""

    def __init__(
        self,
        postgres: PostgresServer,
        redis: RedisServer,
        directory: Path,
        *,
        workers: int = 1,
        schedulers: int = 1,
        worker_threads: int = 16,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.postgres = postgres
        self.redis = redis
        self.directory = directory
        self.database_name = f"herald_stack_{os.getpid()}_{next(_database_numbers)}"
        self.port = free_port()
        self.env = {
            **_base_environ(),
            **DEFAULT_ENV,
            **(env or {}),
            "HERALD_DATABASE_URL": postgres.url_for(self.database_name),
            "HERALD_REDIS_URL": redis.url,
        }
        self.api = self._process("api", ["api", "--port", str(self.port), "--workers", "1"])
        worker_args = ["worker", "--processes", "1", "--threads", str(worker_threads)]
        self.workers = [self._process(f"worker-{i}", worker_args) for i in range(workers)]
        self.schedulers = [
            self._process(f"scheduler-{i}", ["scheduler"]) for i in range(schedulers)
        ]
        self.project: ProjectKey | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> HeraldStack:
        """Fresh database and Redis, migrate, a project, every process; returns when the
        API is ready and every worker has booted."""
        self.redis.flushall()
        self.postgres.create_database(self.database_name)
        self.run("migrate")
        created = json.loads(self.run("project", "create", "stack-test", "--json"))
        self.project = ProjectKey(created["id"], created["api_key"])
        for process in self.processes:
            process.start()
        self.wait_ready()
        for index in range(len(self.workers)):
            self.wait_worker_ready(index)
        return self

    def stop(self) -> None:
        """Stop every process (all at once, bounded by one shared deadline: a worker still
        in a request is killed, which tests need not wait for), then drop the database."""
        for process in self.processes:
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes:
            process.finish(deadline - time.monotonic())
        with contextlib.suppress(RuntimeError):
            self.postgres.drop_database(self.database_name)

    def __enter__(self) -> HeraldStack:
        try:
            return self.start()
        except BaseException:
            print(self.tails())
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            print(self.tails())  # pytest shows captured output of a failed test
        self.stop()

    # -- processes -------------------------------------------------------------------
    @property
    def processes(self) -> list[HeraldProcess]:
        return [self.api, *self.workers, *self.schedulers]

    def run(self, *args: str) -> str:
        """Run a one-shot ``herald`` command in the stack's environment; its stdout."""
        result = subprocess.run(
            herald_command(*args),
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"herald {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout.decode(errors='replace')}\n{result.stderr.decode(errors='replace')}"
            )
        return result.stdout.decode()

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker ``index`` (supervisor and children), as an OOM kill would."""
        self.workers[index].kill()

    def start_worker(self, index: int, wait: bool = True) -> None:
        """(Re)start worker ``index``; with ``wait``, return once it consumes again."""
        already = self.workers[index].log_text().count(WORKER_READY_LINE)
        self.workers[index].start()
        if wait:
            self.wait_worker_ready(index, after=already)

    def wait_worker_ready(self, index: int, after: int = 0) -> None:
        """Wait until worker ``index`` logged its ready line more than ``after`` times."""
        worker = self.workers[index]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while worker.log_text().count(WORKER_READY_LINE) <= after:
            if not worker.alive:
                raise RuntimeError(f"{worker.name} exited during start-up:\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{worker.name} not ready in {READY_TIMEOUT_S} s")
            time.sleep(0.1)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until ``/readyz`` answers 200 (the API process must stay alive)."""
        deadline = time.monotonic() + timeout_s
        while self.readyz().status_code != 200:
            if not self.api.alive:
                raise RuntimeError(f"the API exited during start-up:\n{self.api.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"/readyz not 200 within {timeout_s} s")
            time.sleep(0.1)

    def readyz(self) -> httpx.Response:
        """GET /readyz; a connection failure is reported as a synthetic 599."""
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=10)
        except httpx.HTTPError as exc:
            return httpx.Response(599, text=f"{type(exc).__name__}: {exc}")

    def tails(self, lines: int = 40) -> str:
        """The end of every process's log, for a failure report."""
        return "\n".join(
            f"----- {process.name} ({process.log_path}) -----\n{process.tail(lines)}"
            for process in self.processes
        )

    # -- clients ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout_s: float = 30.0) -> httpx.AsyncClient:
        """An httpx client on ``/api/v1``, authenticated as the stack's project."""
        assert self.project is not None, "start() the stack first"
        return httpx.AsyncClient(
            base_url=f"{self.base_url}/api/v1", headers=self.project.headers, timeout=timeout_s
        )

    @property
    def database_dsn(self) -> str:
        """asyncpg DSN of the stack's database, for tests that check rows directly."""
        return self.postgres.dsn_for(self.database_name)

    def another_api(self, name: str, port: int) -> HeraldProcess:
        """One more ``herald api`` process (not started) over the stack's database."""
        return self._process(name, ["api", "--port", str(port), "--workers", "1"])

    def _process(self, name: str, args: list[str]) -> HeraldProcess:
        return HeraldProcess(name, args, self.env, self.directory / f"{name}.log")


def _base_environ() -> dict[str, str]:
    """The test process's environment minus any HERALD_* (the stack sets its own), with
    the repository importable in every child (Dramatiq's worker processes included)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HERALD_")}
    python_path = [str(REPO_ROOT), *filter(None, environ.get("PYTHONPATH", "").split(":"))]
    environ["PYTHONPATH"] = ":".join(python_path)
    environ["PYTHONUNBUFFERED"] = "1"
    return environ
