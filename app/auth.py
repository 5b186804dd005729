"""Project API keys: minted once, stored as a SHA-256 digest, looked up per request."""

import hashlib
import secrets
import time
from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import State
from sqlalchemy import select

from app.db.models import ApiKey
from app.db.session import Database
from app.errors import Unauthorized

KEY_PREFIX = "hk_"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the project the API key belongs to."""

    project_id: str


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


class KnownKeys:
    """Valid key digests seen lately → their project, so a burst of publishes costs one
    lookup, not one per request. Only valid keys are kept (a flood of bad keys cannot
    grow it), for ``ttl_s``, at most ``size`` of them."""

    def __init__(self, ttl_s: float = 30.0, size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: dict[bytes, tuple[str, float]] = {}

    def get(self, digest: bytes) -> str | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: bytes, project_id: str) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[digest] = (project_id, time.monotonic() + self.ttl_s)


_known_keys = KnownKeys()


async def authenticate(database: Database, authorization: str | None) -> Caller:
    """The caller behind ``Authorization: Bearer <key>``; raise ``Unauthorized`` otherwise.

    A key seen lately costs no query (nor a session), which keeps publishing cheap."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    digest = key_digest(token.strip())
    project_id = _known_keys.get(digest)
    if project_id is None:
        async with database.session() as session:
            project_id = await session.scalar(
                select(ApiKey.project_id).where(ApiKey.key_digest == digest)
            )
        if project_id is None:
            raise Unauthorized("this API key is not valid")
        _known_keys.put(digest, project_id)
    return Caller(project_id=project_id)


async def provide_caller(request: Request, state: State) -> Caller:  # type: ignore[type-arg]
    return await authenticate(state.database, request.headers.get("authorization"))
