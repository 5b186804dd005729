"""Fixtures of the console tests: a staff account, and the test client signed in as it."""

import httpx
import pytest

from app.db.session import Database, commit
from app.staff.service import create_staff
from tests.conftest import ProjectKey
from tests.portal.console_fixtures import EMAIL, PASSWORD, log_in


@pytest.fixture
async def staff(database: Database, project: ProjectKey) -> str:
    async with database.session() as session:
        account = await create_staff(session, project.project_id, EMAIL, PASSWORD)
        await commit(session)
    return account.id


@pytest.fixture
async def console(client: httpx.AsyncClient, staff: str) -> httpx.AsyncClient:
    """The test client signed in to the console."""
    assert (await log_in(client)).status_code == 303
    return client
