"""Project API keys: minted once, stored as a SHA-256 digest, checked on every request.

A key seen lately is answered from ``KnownKeys`` without a query, which keeps publishing
cheap. What makes that cache safe is ``KeyChanges``: every ``CHECK_EVERY_S`` one request
of the process reads the keys changed (revoked, or given an earlier expiry) since its
last look and forgets them, so a key revoked through any api process is refused by every
other within a second. Expiry needs no query: the cached grant carries it. Which scopes
a route needs is ``app.scopes``' table; the router's guard (``require_scope``) checks it.
"""

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler
from sqlalchemy import select, update

from app.db.base import utcnow
from app.db.models import ApiKey
from app.db.session import Database, commit
from app.errors import Forbidden, Unauthorized
from app.scopes import ADMIN, allowed_scopes

log = logging.getLogger("herald.auth")

KEY_PREFIX = "hk_"
SHOWN_PREFIX_CHARS = 8  # "hk_" and five characters: enough to tell keys apart in a list
CHECK_EVERY_S = 0.25
# Changes are read back this far before the last look, so that api hosts whose clocks
# differ by less than this still see each other's revocations.
CLOCK_SKEW = timedelta(seconds=5)
MAX_AGE_S = 60.0  # a cached grant is read again after this, changed or not
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the project and the key, with the key's scopes."""

    project_id: str
    key_id: str = ""
    scopes: frozenset[str] = frozenset({ADMIN})


@dataclass(frozen=True)
class Grant:
    """What a valid key allows, until when (``None``: no expiry)."""

    caller: Caller
    expires_at: datetime | None


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


def shown_prefix(api_key: str) -> str:
    return api_key[:SHOWN_PREFIX_CHARS]


class KnownKeys:
    """Grants of the valid keys seen lately, by digest, for at most ``max_age_s`` each;
    at most ``size`` of them (a flood of bad keys cannot grow it: only valid ones go in),
    and forgotten as soon as ``KeyChanges`` reads that they changed."""

    def __init__(self, max_age_s: float = MAX_AGE_S, size: int = 10_000) -> None:
        self.max_age_s = max_age_s
        self.size = size
        self._entries: dict[bytes, tuple[Grant, float]] = {}

    def get(self, digest: bytes) -> Grant | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: bytes, grant: Grant) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[digest] = (grant, time.monotonic() + self.max_age_s)

    def forget(self, digests: Collection[bytes]) -> None:
        for digest in digests:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        self._entries.clear()


class KeyChanges:
    """Reads, at most every ``CHECK_EVERY_S``, the keys changed since the last look and
    makes ``known`` forget them. A request that finds the look due makes it first; if it
    fails (the database is down), so does that request, and the next one looks again."""

    def __init__(self, known: KnownKeys) -> None:
        self.known = known
        self._looked_at = -CHECK_EVERY_S  # time.monotonic() of the last successful look
        self._since: datetime | None = None
        self._lock = asyncio.Lock()

    async def catch_up(self, database: Database) -> None:
        if time.monotonic() - self._looked_at < CHECK_EVERY_S:
            return
        async with self._lock:
            if time.monotonic() - self._looked_at < CHECK_EVERY_S:
                return  # another request looked while this one waited
            started, now = time.monotonic(), utcnow()
            if self._since is not None:  # else the first look: nothing is cached yet
                async with database.session() as session:
                    changed = await session.scalars(
                        select(ApiKey.key_digest).where(ApiKey.changed_at > self._since)
                    )
                    self.known.forget(list(changed))
            # The next look reads CLOCK_SKEW back again, so a grant cached by a lookup that
            # raced a revocation is forgotten at the following look too.
            self._since, self._looked_at = now - CLOCK_SKEW, started


_known_keys = KnownKeys()
_key_changes = KeyChanges(_known_keys)
_last_use_written: dict[str, float] = {}
_background: set["asyncio.Task[None]"] = set()


async def authenticate(database: Database, authorization: str | None) -> Caller:
    """The caller behind ``Authorization: Bearer <key>``; raise ``Unauthorized`` for no
    key, an unknown one, or one expired or revoked."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    digest = key_digest(token.strip())
    await _key_changes.catch_up(database)
    grant = _known_keys.get(digest)
    if grant is None:
        grant = await _look_up(database, digest)
        _known_keys.put(digest, grant)
    if grant.expires_at is not None and grant.expires_at <= utcnow():
        raise Unauthorized("this API key has expired", code="key_expired")
    _note_use(database, grant.caller.key_id)
    return grant.caller


async def _look_up(database: Database, digest: bytes) -> Grant:
    async with database.session() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.key_digest == digest))
    if key is None:
        raise Unauthorized("this API key is not valid")
    if key.revoked_at is not None:
        raise Unauthorized("this API key has been revoked", code="key_revoked")
    caller = Caller(project_id=key.project_id, key_id=key.id, scopes=frozenset(key.scopes))
    return Grant(caller, key.expires_at)


def _note_use(database: Database, key_id: str) -> None:
    """Write the key's ``last_used_at``, at most once a minute per key and process, in
    the background: the request never waits for it."""
    now = time.monotonic()
    if now - _last_use_written.get(key_id, -1e9) < LAST_USED_EVERY.total_seconds():
        return
    _last_use_written[key_id] = now
    task = asyncio.create_task(_write_last_use(database, key_id))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def finish_background() -> None:
    """Wait for the last-use stamps being written (before the database is disposed)."""
    if _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


async def _write_last_use(database: Database, key_id: str) -> None:
    now = utcnow()
    try:
        async with database.session() as session:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id)
                .where(
                    ApiKey.last_used_at.is_(None) | (ApiKey.last_used_at < now - LAST_USED_EVERY)
                )
                .values(last_used_at=now)
            )
            await commit(session)
    except Exception as exc:  # a lost last-use stamp is not worth failing anything for
        log.warning("could not record the use of key %s (%s)", key_id, type(exc).__name__)


async def require_scope(connection: ASGIConnection, _: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """The API router's guard: authenticate, then check the route's scopes
    (``app.scopes``); the caller is kept for ``provide_caller``."""
    state: State = connection.app.state
    caller = await authenticate(state.database, connection.headers.get("authorization"))
    method, route = str(connection.scope.get("method")), connection.scope["path_template"]
    if not caller.scopes & allowed_scopes(method, route):
        raise Forbidden(
            f"this API key's scopes ({', '.join(sorted(caller.scopes))}) do not allow "
            f"{method} {route}"
        )
    connection.state.caller = caller


async def provide_caller(request: Request) -> Caller:  # type: ignore[type-arg]
    caller: Caller = request.state.caller
    return caller
