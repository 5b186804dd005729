"""Project API keys: minted once, stored as a SHA-256 digest, looked up per request."""

import hashlib
import secrets
from dataclasses import dataclass

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiKey
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


async def authenticate(session: AsyncSession, authorization: str | None) -> Caller:
    """The caller behind ``Authorization: Bearer <key>``; raise ``Unauthorized`` otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    project_id = await session.scalar(
        select(ApiKey.project_id).where(ApiKey.key_digest == key_digest(token.strip()))
    )
    if project_id is None:
        raise Unauthorized("this API key is not valid")
    return Caller(project_id=project_id)


async def provide_caller(
    request: Request,  # type: ignore[type-arg]
    session: NamedDependency[AsyncSession],
) -> Caller:
    return await authenticate(session, request.headers.get("authorization"))
