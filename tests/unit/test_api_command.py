"""``herald api``: the uvicorn server it starts."""

from typing import Any

import pytest
import uvicorn

from app.cli import main
from tests.herald_cli import UNREACHED_PRODUCTION_ENV


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What ``uvicorn.run`` was asked to serve, without serving it."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    for name, value in UNREACHED_PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return calls


def test_requests_are_logged_unless_asked_not_to(served: list[dict[str, Any]]) -> None:
    assert main(["api", "--port", "8123", "--workers", "3"]) == 0
    assert main(["api", "--no-access-log"]) == 0
    assert [call["access_log"] for call in served] == [True, False]
    assert (served[0]["port"], served[0]["workers"]) == (8123, 3)
