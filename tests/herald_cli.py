"""Running the ``herald`` command line in a subprocess against a test's database."""

import asyncio
import os
import sys

from app.config import Settings

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
