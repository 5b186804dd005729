"""``herald dev``: API, worker threads and scheduler in one process over SQLite."""

import asyncio
import errno
import socket
import sys
from pathlib import Path

import dramatiq
import uvicorn
from sqlalchemy import select

from app.api_keys.service import create_key
from app.asgi import create_app
from app.auth import authenticate
from app.config import Settings
from app.db.migrate import upgrade
from app.db.models import Project
from app.db.session import Database, commit
from app.errors import Unauthorized
from app.logs import uvicorn_log_config
from app.outbox import Sender
from app.projects.service import create_project
from workers.scheduler import run_scheduler
from workers.stack import build_worker_stack

DEV_KEY_FILE = Path(".herald") / "dev-api-key"


def serve_dev(settings: Settings, host: str, port: int, threads: int) -> int:
    """Serve until interrupted; 0 then, or 1 at once if ``host:port`` is taken."""
    # Another `herald dev` on this port would share the database too: say so before
    # migrating, printing a banner or starting a worker.
    if port_in_use(host, port):
        free = next((p for p in range(port + 1, port + 100) if not port_in_use(host, p)), None)
        hint = f"; try `make dev PORT={free}`" if free else ""
        print(f"herald: port {port} is in use{hint}", file=sys.stderr)
        return 1
    upgrade(settings.database_url)
    stack = build_worker_stack(settings)
    worker = dramatiq.Worker(stack.broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        asyncio.run(_serve(settings, stack.sender, host, port))
    finally:
        worker.stop(timeout=5_000)
    return 0


def port_in_use(host: str, port: int) -> bool:
    """True when a server could not listen on ``host:port`` right now."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port held only by closed connections (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE  # anything else is uvicorn's to report
    return False


async def _serve(settings: Settings, sender: Sender, host: str, port: int) -> None:
    database = Database(settings.database_url, sender=sender)
    project_id, api_key = await ensure_dev_project(database, settings)
    app = create_app(settings, database)
    print(
        f"\n  Herald (dev) on http://{host}:{port}\n"
        f"  project {project_id}\n  API key: {api_key}\n"
        f"  database: {settings.database_url}\n",
        flush=True,
    )
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", log_config=uvicorn_log_config()
    )
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(database, settings, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        await scheduler


async def ensure_dev_project(database: Database, settings: Settings) -> tuple[str, str]:
    """The dev project and a working API key for it, created on first start."""
    if DEV_KEY_FILE.exists():
        key = DEV_KEY_FILE.read_text().strip()
        try:
            caller = await authenticate(database, f"Bearer {key}")
            return caller.project_id, key
        except Unauthorized:
            pass  # a key from an older dev database: make a new one below
    async with database.session() as session:
        project_id = await session.scalar(select(Project.id).order_by(Project.id).limit(1))
        if project_id is None:
            created = await create_project(
                session, "dev", settings.retry_schedule_s, settings.disable_after_s
            )
            project_id, key = created.project.id, created.api_key
        else:
            key = (await create_key(session, project_id, name="herald dev")).key
        await commit(session)
    DEV_KEY_FILE.parent.mkdir(exist_ok=True)
    DEV_KEY_FILE.write_text(key + "\n")
    DEV_KEY_FILE.chmod(0o600)
    return project_id, key
