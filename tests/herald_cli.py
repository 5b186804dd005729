"""Running the ``herald`` command line in a subprocess: a command against a test's
database (``run_cli``), or a server until the block ends (``serving``)."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.config import Settings
from tests.services import free_port

REPO = Path(__file__).resolve().parents[1]
SERVE_START_TIMEOUT_S = 60.0

# Production settings that need no server: a command that only starts up connects to none.
UNREACHED_PRODUCTION_ENV = {
    "HERALD_DATABASE_URL": "postgresql+asyncpg://herald@127.0.0.1:9/herald",
    "HERALD_REDIS_URL": "redis://127.0.0.1:9/0",
    "HERALD_SECRET_KEY": "e7c3961b0877e322a526f1aac8e108721f0355256466cdca84f3d70d5f59e7ac",
}


async def run_cli(
    settings: Settings, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``herald ARGS`` in a subprocess against the test's database; (code, stdout, stderr)."""
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HERALD_DATABASE_URL": settings.database_url,
        "HERALD_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env=environ,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@contextmanager
def serving(args: list[str], env: Mapping[str, str], directory: Path) -> Iterator[str]:
    """``herald ARGS --port P`` in ``directory`` until it answers /healthz; yields its URL.
    Its output (stdout and stderr) is in ``directory / "herald.log"``."""
    port = free_port()
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env}
    with (directory / "herald.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args, "--port", str(port)],
            cwd=directory,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(process, url, directory / "herald.log")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("herald exited: " + log.read_text(errors="replace"))
        try:
            if httpx.get(f"{url}/healthz", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("herald did not start: " + log.read_text(errors="replace"))
