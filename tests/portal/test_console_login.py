"""Console sign-in under attack: guesses spread over many addresses, and more sign-ins at
once than the process will hash (``app.staff.throttle``, ``app.staff.passwords``)."""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from sqlalchemy import select

from app.db.models import LoginFailure
from app.db.session import Database, commit
from app.staff import passwords
from app.staff.passwords import HashPool
from app.staff.service import create_staff
from app.staff.throttle import MAX_ACCOUNT_FAILURES
from tests.conftest import ProjectKey, wait_until
from tests.portal.console_fixtures import EMAIL, PASSWORD, csrf_of

OTHER_EMAIL = "bob@example.com"
T = TypeVar("T")


@asynccontextmanager
async def browser_at(app: Litestar, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as client:
        yield client


async def sign_in_from(
    app: Litestar, address: str, password: str, email: str = EMAIL
) -> httpx.Response:
    """The console's sign-in form, filled in and posted from ``address``."""
    async with browser_at(app, address) as client:
        form = await client.get("/console/login")
        data = {"_csrf": csrf_of(form), "email": email, "password": password}
        return await client.post("/console/login", data=data)


@pytest.fixture
async def two_logins(database: Database, project: ProjectKey) -> None:
    async with database.session() as session:
        for email in (EMAIL, OTHER_EMAIL):
            await create_staff(session, project.project_id, email, PASSWORD)
        await commit(session)


class TimedHasher:
    """The real argon2 hasher, counting the verifications that run at once; each waits
    for ``go`` before it starts."""

    def __init__(self, go: threading.Event) -> None:
        self.go, self.running, self.most, self.started = go, 0, 0, 0
        self._real, self._lock = PasswordHasher(), threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.started += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            assert self.go.wait(timeout=30)
            return self._real.verify(password_hash, password)
        finally:
            with self._lock:
                self.running -= 1


class CountingPool(HashPool):
    """A ``HashPool`` that counts the hashes asked of it."""

    asked = 0

    async def run(self, compute: Callable[[], T]) -> T:
        self.asked += 1
        return await super().run(compute)


async def test_failures_from_many_addresses_lock_that_account_only(
    app: Litestar, two_logins: None
) -> None:
    # Given wrong passwords for one login, each from its own address (under its own limit)
    replies = [
        await sign_in_from(app, f"203.0.113.{i}", "not the password")
        for i in range(MAX_ACCOUNT_FAILURES)
    ]
    # Then the last one locks the account
    assert [reply.status_code for reply in replies] == [401] * (MAX_ACCOUNT_FAILURES - 1) + [429]

    # When its right password comes from an address never seen, and the other login signs
    # in from one of the failing addresses
    locked = await sign_in_from(app, "198.51.100.7", PASSWORD)
    other = await sign_in_from(app, "203.0.113.1", PASSWORD, email=OTHER_EMAIL)

    # Then the locked account is refused everywhere, and the other one is let in
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.text
    assert (other.status_code, other.headers["location"]) == (303, "/console")


async def test_a_cap_of_one_hashes_concurrent_sign_ins_one_at_a_time(
    app: Litestar, two_logins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that hashes one password at a time, with a generous wait
    go = threading.Event()
    go.set()
    hasher = TimedHasher(go)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    monkeypatch.setattr(passwords, "_POOL", HashPool(1, wait_s=30.0))

    # When six sign-ins (right and wrong passwords, a known and an unknown e-mail) come at once
    replies = await asyncio.gather(
        *(sign_in_from(app, f"203.0.113.{i}", PASSWORD) for i in range(2)),
        *(sign_in_from(app, f"198.51.100.{i}", "not the password") for i in range(2)),
        *(sign_in_from(app, f"192.0.2.{i}", PASSWORD, "nobody@example.com") for i in range(2)),
    )

    # Then each got its answer, and never did two hashes run at once
    assert [reply.status_code for reply in replies] == [303, 303, 401, 401, 401, 401]
    assert (hasher.started, hasher.most) == (6, 1)


async def test_sign_ins_beyond_the_wait_are_refused_with_429_and_not_counted(
    app: Litestar, database: Database, two_logins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that hashes one password at a time and lets a sign-in wait 0.2 s,
    # and a first sign-in whose hash is held running
    go = threading.Event()
    hasher, pool = TimedHasher(go), CountingPool(1, wait_s=0.2)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    monkeypatch.setattr(passwords, "_POOL", pool)
    try:
        first = asyncio.create_task(sign_in_from(app, "203.0.113.1", PASSWORD))

        async def first_is_hashing() -> bool:
            return hasher.running == 1

        await wait_until(first_is_hashing)

        # When two more sign-ins ask for a hash, and wait longer than 0.2 s for it
        waiting = [
            asyncio.create_task(sign_in_from(app, f"198.51.100.{i}", "not the password"))
            for i in range(2)
        ]

        async def all_asked() -> bool:
            return pool.asked == 3

        await wait_until(all_asked)
        await asyncio.sleep(0.3)
    finally:
        go.set()
    replies = [await first, *[await task for task in waiting]]

    # Then the first is let in, the others are told to come back, without their hashes
    # running nor their failures counted
    assert [reply.status_code for reply in replies] == [303, 429, 429]
    assert all("Too many sign-ins at once" in reply.text for reply in replies[1:])
    assert hasher.started == 1
    async with database.session() as session:
        counted = (await session.scalars(select(LoginFailure.client_ip))).all()
    assert counted == []
    # And once the burst is over, a sign-in goes through again
    assert (await sign_in_from(app, "198.51.100.0", PASSWORD)).status_code == 303
