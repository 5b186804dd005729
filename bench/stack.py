"""Everything the benchmark runs, as one context manager: PostgreSQL (durable), Redis,
Herald (1 api, 2 worker processes, 1 scheduler: tests/stack.py's harness), the fast
receiver and the bare-route app. Every process is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import fields
from pathlib import Path
from types import TracebackType

from app.config import Settings
from tests.services import (
    PostgresServer,
    RedisServer,
    find_postgres_bin_dir,
    find_redis_server,
    free_port,
    port_is_open,
    wait_until,
)
from tests.stack import HeraldProcess, HeraldStack

START_TIMEOUT_S = 30.0
WORKER_PROCESSES = 2
WORKER_THREADS = 8  # `herald worker`'s default --threads


def production_env() -> dict[str, str]:
    """Herald's production defaults for the knobs the test harness compresses (the
    benchmark must not run on test timings), plus loopback allowed for the receiver."""
    defaults = {f.name: f.default for f in fields(Settings)}
    return {
        "HERALD_RETRY_SCHEDULE": ",".join(str(s) for s in defaults["retry_schedule_s"]),
        "HERALD_REQUEST_TIMEOUT": str(defaults["request_timeout_s"]),
        "HERALD_SCHEDULER_INTERVAL": str(defaults["scheduler_interval_s"]),
        "HERALD_REQUEUE_AFTER": str(defaults["requeue_after_s"]),
        "HERALD_LOG_LEVEL": str(defaults["log_level"]),
        "HERALD_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
        "HERALD_SECRET_KEY": "0d1135b4933a4cbe5f745cfe0b700fc6782049af3641866c32726713e0e569b7",
    }


class BenchStack:
    """Start with ``with BenchStack(logs) as stack:``; see the module docstring."""

    def __init__(self, logs: Path) -> None:
        redis_binary = find_redis_server()
        postgres_bin = find_postgres_bin_dir()
        if redis_binary is None or postgres_bin is None:
            raise SystemExit("bench: needs redis-server and PostgreSQL installed")
        logs.mkdir(parents=True, exist_ok=True)
        self.logs = logs
        self.redis = RedisServer(redis_binary)
        # Durable: fsync and synchronous commit stay on, as in production.
        self.postgres = PostgresServer(postgres_bin, durable=True)
        self.herald: HeraldStack | None = None
        self.receiver_port = free_port()
        self.bare_port = free_port()
        env = production_env()
        self.receiver = HeraldProcess(
            "receiver",
            [],
            env,
            logs / "receiver.log",
            command=[sys.executable, "-m", "bench.receiver", "--port", str(self.receiver_port)],
        )
        self.bare = HeraldProcess(
            "bare-route",
            [],
            env,
            logs / "bare-route.log",
            command=_uvicorn_like_herald_api("bench.bare:create_app", self.bare_port, env),
        )
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> BenchStack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.herald is not None:
            print(self.herald.tails(), file=sys.stderr)
        self._exit.close()

    def _start(self) -> None:
        self._exit.callback(self.redis.close)
        self.redis.start()
        self._exit.callback(self.postgres.close)
        self.postgres.start()
        for process, port in ((self.receiver, self.receiver_port), (self.bare, self.bare_port)):
            self._exit.callback(process.stop)
            process.start()
            wait_until(lambda port=port: port_is_open(port), START_TIMEOUT_S, process.name)
        self.herald = HeraldStack(
            self.postgres,
            self.redis,
            self.logs,
            workers=WORKER_PROCESSES,
            schedulers=1,
            worker_threads=WORKER_THREADS,
            env=production_env(),
        )
        self._exit.callback(self.herald.stop)
        self.herald.start()

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    @property
    def bare_url(self) -> str:
        return f"http://127.0.0.1:{self.bare_port}/bare"

    def roots(self) -> dict[str, int]:
        """Root pid of every process tree worth watching, by name."""
        assert self.herald is not None
        roots = {p.name: p.pid for p in self.herald.processes if p.pid is not None}
        postmaster = self.postgres.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            roots["postgres"] = int(postmaster.read_text().splitlines()[0])
        redis_pid = self.redis.directory / "redis.pid"
        with contextlib.suppress(OSError, ValueError):
            roots["redis"] = int(redis_pid.read_text().strip())
        if self.receiver.pid is not None:
            roots["receiver"] = self.receiver.pid
        return roots


def _uvicorn_like_herald_api(app: str, port: int, env: dict[str, str]) -> list[str]:
    """The uvicorn command line equivalent of ``herald api`` (app.cli.run_api) for ``app``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        env["HERALD_LOG_LEVEL"].lower(),
        "--proxy-headers",
        "--no-server-header",
    ]
