"""A project's API keys: mint (the key shown once), list, revoke, rotate with an overlap.

A key is stored as its digest (``app.auth``). Revoking, or rotating (which brings the old
key's expiry forward to the end of the overlap), stamps ``changed_at``, which every api
process reads within ``app.auth.CHECK_EVERY_S`` and forgets the key. A project always
keeps one working ``admin`` key: revoking the last one is a 409 (``herald key create``
mints another from the shell).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import key_digest, new_api_key, shown_prefix
from app.db.base import utcnow
from app.db.models import ApiKey
from app.errors import Conflict, ValidationFailed, not_found
from app.ids import new_id
from app.pagination import Page, PageRequest, paginate
from app.scopes import ADMIN


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    key: str  # in clear, this once only


async def create_key(
    session: AsyncSession,
    project_id: str,
    name: str,
    scopes: Sequence[str] = (ADMIN,),
    expires_at: datetime | None = None,
) -> NewKey:
    """A new key of the project; 422 for an expiry in the past."""
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed.field("expires_at", "must be in the future")
    key = new_api_key()
    row = ApiKey(
        id=new_id("key"),
        project_id=project_id,
        key_digest=key_digest(key),
        name=name,
        scopes=sorted(set(scopes)),
        prefix=shown_prefix(key),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return NewKey(row, key)


async def list_keys(session: AsyncSession, project_id: str, page: PageRequest) -> Page[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.project_id == project_id)
    return await paginate(session, stmt, ApiKey.id, page)


async def get_key(session: AsyncSession, project_id: str | None, key_id: str) -> ApiKey:
    """The project's key ``key_id`` (any project's, for ``None``: the CLI's view)."""
    stmt = select(ApiKey).where(ApiKey.id == key_id)
    if project_id is not None:
        stmt = stmt.where(ApiKey.project_id == project_id)
    key = await session.scalar(stmt)
    if key is None:
        raise not_found("API key", key_id)
    return key


async def revoke_key(session: AsyncSession, project_id: str | None, key_id: str) -> ApiKey:
    """Revoke the key (again: no change); 409 if it is the project's last working admin."""
    key = await get_key(session, project_id, key_id)
    if key.revoked_at is None:
        await _keep_an_admin(session, key)
        key.revoked_at = key.changed_at = utcnow()
        await session.flush()
    return key


async def rotate_key(session: AsyncSession, project_id: str, key_id: str, overlap_s: int) -> NewKey:
    """A new key with the old one's name, scopes and expiry; the old one works for
    ``overlap_s`` more seconds (0: not at all). 409 for a key revoked or expired."""
    old = await get_key(session, project_id, key_id)
    now = utcnow()
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise Conflict(f"API key {key_id} no longer works; create a new one", code="key_ended")
    new = await create_key(session, project_id, old.name, old.scopes, old.expires_at)
    if overlap_s == 0:
        old.revoked_at = now
    else:
        ends = now + timedelta(seconds=overlap_s)
        old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
    old.changed_at = now
    await session.flush()
    return new


async def _keep_an_admin(session: AsyncSession, leaving: ApiKey) -> None:
    if ADMIN not in leaving.scopes:
        return
    now = utcnow()
    candidates = await session.scalars(
        select(ApiKey.scopes).where(
            ApiKey.project_id == leaving.project_id,
            ApiKey.id != leaving.id,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    )
    if not any(ADMIN in scopes for scopes in candidates):
        raise Conflict(
            "this is the project's last working admin key; create another before revoking it",
            code="last_admin_key",
        )
