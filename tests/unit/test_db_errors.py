"""A database error's text names no statement parameter, on SQLite and PostgreSQL: it
reaches logs (and once reached stored errors), and parameters hold tenants' data."""

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from app.db.models import Tenant
from app.db.session import Database


@pytest.fixture
def database_url(sqlite_or_postgresql_url: str) -> str:
    return sqlite_or_postgresql_url


async def test_a_refused_statement_does_not_show_its_parameters(database: Database) -> None:
    # Given a row that the database refuses (its project does not exist), holding a value
    # that must not be shown
    row = {"id": "tnt_x", "project_id": "prj_missing", "uid": "u", "name": "s3cret-name"}

    # When it is inserted through Herald's engine
    with pytest.raises(IntegrityError) as refused:
        async with database.session() as session:
            await session.execute(insert(Tenant).values(**row))

    # Then the error says what failed, and hides the parameters
    text = str(refused.value)
    assert "INSERT INTO tenants" in text and "parameters hidden" in text, text
    assert "s3cret-name" not in text
