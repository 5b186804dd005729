"""A worker's cache of endpoint signing keys, so a claim costs no key lookup.

An entry holds while its endpoint's ``updated_at`` is the one it was read with: rotating
a key touches it (``app.endpoints.secrets.rotate_key``), and so does every other change of
the endpoint, so a changed endpoint is simply read again. A key whose overlap window has
ended is dropped at use, by its ``expires_at``.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Endpoint
from app.delivery.signing import SigningKey
from app.endpoints.secrets import timed_signing_keys
from app.secretbox import SecretBox

TimedKeys = list[tuple[SigningKey, datetime | None]]


class SigningKeyCache:
    def __init__(self, box: SecretBox, max_endpoints: int = 10_000) -> None:
        self.box = box
        self.max_endpoints = max_endpoints
        self._entries: dict[str, tuple[datetime, TimedKeys]] = {}

    async def keys_for(
        self, session: AsyncSession, endpoints: Iterable[Endpoint], now: datetime
    ) -> dict[str, list[SigningKey]]:
        """The keys in force at ``now`` of each endpoint, newest first; one query for
        those not cached (or changed since), none when all are."""
        by_id = {endpoint.id: endpoint for endpoint in endpoints}
        stale = [
            endpoint_id
            for endpoint_id, endpoint in by_id.items()
            if (cached := self._entries.get(endpoint_id)) is None
            or cached[0] != endpoint.updated_at
        ]
        if stale:
            fetched = await timed_signing_keys(session, self.box, stale, now)
            for endpoint_id, keys in fetched.items():
                self._remember(endpoint_id, by_id[endpoint_id].updated_at, keys)
        return {
            endpoint_id: [
                key
                for key, expires_at in self._entries[endpoint_id][1]
                if expires_at is None or expires_at > now
            ]
            for endpoint_id in by_id
        }

    def _remember(self, endpoint_id: str, updated_at: datetime, keys: TimedKeys) -> None:
        self._entries.pop(endpoint_id, None)
        if len(self._entries) >= self.max_endpoints:
            # The oldest entry (dicts keep insertion order): a plain FIFO bound.
            del self._entries[next(iter(self._entries))]
        self._entries[endpoint_id] = (updated_at, keys)
