"""Fixtures of the SDK's tests.

Unit tests talk to a respx-mocked Herald at ``BASE_URL``; the integration tests start a
real ``herald dev`` on 127.0.0.1 (``herald_server``) and a real webhook receiver
(``webhook_receiver``), both once per session (see ``sdk_live``).
"""

from collections.abc import AsyncIterator, Iterator

import pytest
from herald_sdk import AsyncHerald, Herald, _transport
from sdk_live import HeraldServer, Receiver, running_herald_dev, running_receiver

BASE_URL = "http://herald.test"


# --- unit tests: a mocked Herald --------------------------------------------------------


@pytest.fixture
def herald() -> Iterator[Herald]:
    with Herald(api_key="hk_test", base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def async_herald() -> AsyncIterator[AsyncHerald]:
    async with AsyncHerald(api_key="hk_test", base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the clients waited between tries, without waiting them."""
    delays: list[float] = []

    async def async_sleep(delay_s: float) -> None:
        delays.append(delay_s)

    monkeypatch.setattr(_transport, "sleep", delays.append)
    monkeypatch.setattr(_transport, "async_sleep", async_sleep)
    return delays


# --- integration tests: a real `herald dev` and a real receiver --------------------------


@pytest.fixture(scope="session")
def herald_server() -> Iterator[HeraldServer]:
    with running_herald_dev() as server:
        yield server


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver
