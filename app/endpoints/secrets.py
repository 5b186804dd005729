"""Endpoint signing keys, sealed at rest with the ``SecretBox``; plaintext never leaves here
except as a ``SigningKey`` for the signer or the one reply of GET ``…/secret``.

An endpoint has exactly one current key (``expires_at`` None). Rotating gives the old one
an ``expires_at`` at the end of the project's overlap window, during which both sign.

Each key is sealed for its place (``SEALED_COLUMN``, its row's id, its endpoint's id), so a
sealed key copied to another row, or its row moved to another endpoint, no longer opens.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import Endpoint, EndpointSecret
from app.delivery.signing import Algorithm, SigningKey, new_key, parse_key, public_key
from app.errors import Conflict, not_found
from app.ids import new_id
from app.secretbox import SealedAt, SecretBox, SecretBoxError

log = logging.getLogger("herald.secrets")

SEALED_COLUMN = "endpoint_secrets.ciphertext"


@dataclass(frozen=True)
class CurrentKey:
    """The endpoint's current key as its owner sees it: ``whsec_…``/``whsk_…`` (+ ``whpk_…``)."""

    key: str
    public_key: str | None

    def __repr__(self) -> str:
        return "CurrentKey(…)"


async def add_current_key(
    session: AsyncSession, box: SecretBox, endpoint_id: str, key_text: str | None = None
) -> EndpointSecret:
    """Store ``key_text`` (a new ``whsec_`` key if None) sealed as the current key.

    Raises ``InvalidKey`` for a malformed key. The caller retires any previous current key.
    """
    key_text = key_text or new_key()
    signing_key = parse_key(key_text)
    secret_id = new_id("sec")
    secret = EndpointSecret(
        id=secret_id,
        endpoint_id=endpoint_id,
        algorithm=signing_key.algorithm,
        ciphertext=box.seal(key_text, sealed_at(secret_id, endpoint_id)),
        created_at=utcnow(),
        expires_at=None,
    )
    session.add(secret)
    await session.flush()
    return secret


async def get_current_key(session: AsyncSession, box: SecretBox, endpoint_id: str) -> CurrentKey:
    """The endpoint's current key in clear; ``NotFound`` if it has none, ``Conflict``
    (``secret_unreadable``) if it cannot be opened here: sealed under a master key this
    process lacks, altered, or sealed for another row or endpoint."""
    secret = await _current(session, endpoint_id)
    if secret is None:
        raise not_found("secret of endpoint", endpoint_id)
    try:
        text = box.open(secret.ciphertext, sealed_at(secret.id, secret.endpoint_id))
    except SecretBoxError as exc:
        log.warning("secret %s of endpoint %s cannot be opened: %s", secret.id, endpoint_id, exc)
        raise Conflict(
            "the endpoint's signing secret cannot be read; rotate it to set a new one",
            code="secret_unreadable",
        ) from None
    return CurrentKey(key=text, public_key=public_key(text))


async def rotate_key(
    session: AsyncSession,
    box: SecretBox,
    endpoint: Endpoint,
    overlap_s: int,
    new_key_text: str | None = None,
) -> EndpointSecret:
    """Make ``new_key_text`` (or a fresh key of the current algorithm) the current key.

    The old current key keeps signing for ``overlap_s`` seconds (0: it stops at once);
    keys whose overlap has already ended are deleted. Raises ``InvalidKey``.
    """
    now = utcnow()
    if new_key_text is not None:
        parse_key(new_key_text)
    # Serialise concurrent rotations of one endpoint (PostgreSQL; SQLite has one writer).
    await session.execute(select(Endpoint.id).where(Endpoint.id == endpoint.id).with_for_update())
    await session.execute(
        delete(EndpointSecret).where(
            EndpointSecret.endpoint_id == endpoint.id,
            EndpointSecret.expires_at.is_not(None),
            EndpointSecret.expires_at <= now,
        )
    )
    # Workers cache an endpoint's keys for as long as its ``updated_at`` stands.
    endpoint.updated_at = now
    current = await _current(session, endpoint.id)
    algorithm = current.algorithm if current is not None else "hmac-sha256"
    if current is not None:
        if overlap_s > 0:
            current.expires_at = now + timedelta(seconds=overlap_s)
        else:
            await session.delete(current)
        await session.flush()
    return await add_current_key(
        session, box, endpoint.id, new_key_text or new_key(_algorithm(algorithm))
    )


async def signing_keys(
    session: AsyncSession, box: SecretBox, endpoint_ids: Sequence[str], now: datetime
) -> dict[str, list[SigningKey]]:
    """Every key in force at ``now`` for each endpoint, newest first, in one query.

    Each id of ``endpoint_ids`` is in the result (an empty list if it has no key).
    Raises ``SecretBoxError`` if a key was sealed under a master key this process lacks.
    """
    timed = await timed_signing_keys(session, box, endpoint_ids, now)
    return {endpoint_id: [key for key, _ in keys] for endpoint_id, keys in timed.items()}


async def timed_signing_keys(
    session: AsyncSession, box: SecretBox, endpoint_ids: Sequence[str], now: datetime
) -> dict[str, list[tuple[SigningKey, datetime | None]]]:
    """``signing_keys`` with each key's ``expires_at`` (None for the current key); a key
    that cannot be opened is logged and left out."""
    keys: dict[str, list[tuple[SigningKey, datetime | None]]] = {
        endpoint_id: [] for endpoint_id in endpoint_ids
    }
    if not keys:
        return keys
    rows = await session.scalars(
        select(EndpointSecret)
        .where(
            EndpointSecret.endpoint_id.in_(list(keys)),
            EndpointSecret.expires_at.is_(None) | (EndpointSecret.expires_at > now),
        )
        .order_by(EndpointSecret.expires_at.is_(None).desc(), EndpointSecret.created_at.desc())
    )
    for secret in rows:
        try:
            text = box.open(secret.ciphertext, sealed_at(secret.id, secret.endpoint_id))
        except SecretBoxError:
            # One endpoint's unreadable key must not fail its batch-mates' claim: it is
            # left out, and a delivery with no key is failed unsent (``app.delivery.send``).
            log.error("secret %s of endpoint %s cannot be opened", secret.id, secret.endpoint_id)
            continue
        keys[secret.endpoint_id].append((parse_key(text), secret.expires_at))
    return keys


def sealed_at(secret_id: str, endpoint_id: str) -> SealedAt:
    """The place a key's ciphertext is bound to."""
    return SealedAt(SEALED_COLUMN, secret_id, endpoint_id)


async def _current(session: AsyncSession, endpoint_id: str) -> EndpointSecret | None:
    return await session.scalar(
        select(EndpointSecret)
        .where(EndpointSecret.endpoint_id == endpoint_id, EndpointSecret.expires_at.is_(None))
        .order_by(EndpointSecret.created_at.desc())
        .limit(1)
    )


def _algorithm(name: str) -> Algorithm:
    return "ed25519" if name == "ed25519" else "hmac-sha256"


async def reseal_batch(
    session: AsyncSession, box: SecretBox, after_id: str, limit: int = 500
) -> tuple[int, int, str | None]:
    """Re-seal under the box's current master key, bound to their places, the next
    ``limit`` secrets after ``after_id``; return (seen, resealed, last id seen or None
    when done). Raises ``SecretBoxError`` naming the first secret that cannot be opened."""
    rows = (
        await session.scalars(
            select(EndpointSecret)
            .where(EndpointSecret.id > after_id)
            .order_by(EndpointSecret.id)
            .limit(limit)
        )
    ).all()
    resealed = 0
    for secret in rows:
        if not box.is_current(secret.ciphertext):
            place = sealed_at(secret.id, secret.endpoint_id)
            try:
                text = box.open(secret.ciphertext, place)
            except SecretBoxError as exc:
                raise SecretBoxError(f"secret {secret.id}: {exc}") from None
            secret.ciphertext = box.seal(text, place)
            resealed += 1
    await session.flush()
    return len(rows), resealed, rows[-1].id if rows else None
