"""Shared fixtures: a migrated database per test, the app over it, a project and its key.

The SQLite schema is built once per session by the Alembic migrations into a template
file; each test gets a copy of it, so every test starts from the real migrated schema.
"""

import asyncio
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dramatiq
import httpx
import pytest
from litestar import Litestar

from app.asgi import create_app
from app.auth import finish_background
from app.config import LOOPBACK_NETWORKS, Settings
from app.db.migrate import upgrade
from app.db.session import Database, commit
from app.outbox import Sender
from app.projects.service import create_project
from workers.scheduler import run_scheduler
from workers.stack import WorkerStack, build_worker_stack

pytest_plugins = ["tests.receivers", "tests.services"]


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "herald.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def _sqlite_copy(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "herald.db"
    shutil.copy(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def database_url(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    return _sqlite_copy(migrated_sqlite_template, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def sqlite_or_postgresql_url(
    request: pytest.FixtureRequest, migrated_sqlite_template: Path, tmp_path: Path
) -> Iterator[str]:
    """A migrated SQLite copy, then a fresh migrated PostgreSQL database: a module runs
    its tests on both by defining ``database_url`` as this."""
    if request.param == "sqlite":
        yield _sqlite_copy(migrated_sqlite_template, tmp_path)
        return
    server = request.getfixturevalue("postgres_server")
    name = f"herald_test_{secrets.token_hex(4)}"
    url = server.create_database(name)
    upgrade(url)
    yield url
    server.drop_database(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for tests: compressed retries and timeouts, loopback receivers allowed."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        allowed_private_networks=LOOPBACK_NETWORKS,
        retry_schedule_s=(0, 1, 1, 1),
        request_timeout_s=2.0,
        scheduler_interval_s=0.1,
        requeue_after_s=2.0,
        retry_jitter=0.0,
    )


@pytest.fixture
def job_sender() -> Sender | None:
    """The queue the app's commits feed; tests that deliver override this."""
    return None


@pytest.fixture
async def database(settings: Settings, job_sender: Sender | None) -> AsyncIterator[Database]:
    """The database as seen from the test's own event loop."""
    db = Database(settings.database_url, sender=job_sender)
    yield db
    await db.dispose()


@pytest.fixture
async def app(settings: Settings, job_sender: Sender | None) -> AsyncIterator[Litestar]:
    """The app over its own engine, served on the test's event loop."""
    app_database = Database(settings.database_url, sender=job_sender)
    yield create_app(settings, app_database)
    await finish_background()
    await app_database.dispose()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGI transport runs the app on this loop without blocking it (Litestar's
    # test client blocks the loop while a request runs, which starves the scheduler).
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as test_client:
        yield test_client


@dataclass(frozen=True)
class ProjectKey:
    project_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_project(database: Database, settings: Settings, name: str) -> ProjectKey:
    async with database.session() as session:
        created = await create_project(
            session, name, settings.retry_schedule_s, settings.disable_after_s
        )
        await commit(session)
    return ProjectKey(created.project.id, created.api_key)


@pytest.fixture
async def project(database: Database, settings: Settings) -> ProjectKey:
    return await make_project(database, settings, "acme-test")


@pytest.fixture
async def api(client: httpx.AsyncClient, project: ProjectKey) -> httpx.AsyncClient:
    """The test client, authenticated as ``project``."""
    client.headers.update(project.headers)
    return client


@pytest.fixture
def worker_stack(settings: Settings) -> Iterator[WorkerStack]:
    """An in-process Dramatiq worker (stub broker) running Herald's actors."""
    stack = build_worker_stack(settings)
    worker = dramatiq.Worker(stack.broker, worker_threads=4, worker_timeout=50)
    worker.start()
    yield stack
    worker.stop(timeout=10_000)


@pytest.fixture
async def scheduler(database: Database, settings: Settings) -> AsyncIterator[None]:
    """The scheduler loop running beside the test, on the test's event loop."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(database, settings, stop))
    yield
    stop.set()
    await asyncio.wait_for(task, timeout=10)


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, interval_s: float = 0.05
) -> None:
    """Poll ``predicate`` until it holds; AssertionError after ``timeout_s``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)
