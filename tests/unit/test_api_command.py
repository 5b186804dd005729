"""``herald api``: the uvicorn server it starts."""

from typing import Any

import pytest
import uvicorn

from app.cli import main


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What ``uvicorn.run`` was asked to serve, without serving it."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setenv("HERALD_DATABASE_URL", "postgresql+asyncpg://herald@127.0.0.1:9/herald")
    monkeypatch.setenv("HERALD_REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setenv("HERALD_SECRET_KEY", "api-command-test-key")
    return calls


def test_requests_are_logged_unless_asked_not_to(served: list[dict[str, Any]]) -> None:
    assert main(["api", "--port", "8123", "--workers", "3"]) == 0
    assert main(["api", "--no-access-log"]) == 0
    assert [call["access_log"] for call in served] == [True, False]
    assert (served[0]["port"], served[0]["workers"]) == (8123, 3)
