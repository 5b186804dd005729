"""Publishing on PostgreSQL in one write: three round trips per batch, no transaction.

In a transaction, a group-committed batch of publishes (``app.messages.batcher``) costs
BEGIN, four statements and COMMIT, six round trips that each wait their turn on a busy
machine. Here the two lookups run in autocommit (reads need no transaction) and every
message is inserted with its deliveries by one statement (data-modifying CTEs over
arrays), which PostgreSQL commits atomically: a failure leaves nothing half-written.

A message whose dedupe key is taken is left out by that statement (``ON CONFLICT DO
NOTHING``; deliveries join only the inserted messages). Those few go through ``store`` in
an ordinary transaction, which returns the live duplicate or frees an expired key.
"""

from collections.abc import Iterator, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import json_text, utcnow
from app.db.session import Database, commit, enqueue_after_commit
from app.errors import HeraldError
from app.messages.fan_out import PENDING, FanOut
from app.messages.service import (
    Draft,
    Published,
    PublishRequest,
    SchemaChanged,
    draft_many,
    new_message,
    store,
    targets_of,
)

# A new delivery's constant columns are ``fan_out.PENDING``'s, bound as parameters.
_STORE = text(
    """
WITH new_messages AS (
    INSERT INTO messages (id, project_id, tenant_id, event_type, event_id, dedupe_key,
                          payload, channels, headers, created_at)
    SELECT m.id, m.project_id, m.tenant_id, m.event_type, m.event_id, m.dedupe_key,
           m.payload, CAST(m.channels AS jsonb), CAST(m.headers AS jsonb),
           CAST(:now AS timestamptz)
    FROM unnest(CAST(:ids AS text[]), CAST(:projects AS text[]), CAST(:tenants AS text[]),
                CAST(:event_types AS text[]), CAST(:event_ids AS text[]),
                CAST(:dedupe_keys AS text[]), CAST(:payloads AS bytea[]),
                CAST(:channels AS text[]), CAST(:headers AS text[]))
         AS m(id, project_id, tenant_id, event_type, event_id, dedupe_key, payload,
              channels, headers)
    ON CONFLICT DO NOTHING
    RETURNING id, project_id, tenant_id
), new_deliveries AS (
    INSERT INTO deliveries (id, project_id, tenant_id, message_id, endpoint_id, status,
                            attempt_count, next_attempt_at, next_trigger, lease_token,
                            lease_until, created_at, updated_at)
    SELECT d.id, n.project_id, n.tenant_id, n.id, d.endpoint_id, CAST(:status AS varchar),
           CAST(:attempt_count AS integer), CAST(:now AS timestamptz),
           CAST(:next_trigger AS varchar), NULL, NULL,
           CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM unnest(CAST(:delivery_ids AS text[]), CAST(:delivery_messages AS text[]),
                CAST(:delivery_endpoints AS text[]))
         AS d(id, message_id, endpoint_id)
    JOIN new_messages AS n ON n.id = d.message_id
)
SELECT id FROM new_messages
"""
)


async def publish_in_one_write(
    database: Database, settings: Settings, requests: Sequence[PublishRequest]
) -> list[Published | HeraldError | SchemaChanged]:
    """``publish_many`` for PostgreSQL: the same outcomes, in three round trips (plus a
    transaction for any whose dedupe key was taken)."""
    async with database.session(autocommit=True) as session:
        outcomes = await draft_many(session, requests)
        drafts = [o for o in outcomes if isinstance(o, Draft)]
        stored = await _store_in_one_statement(session, drafts)
        await commit(session)  # nothing to commit: this wakes the lanes
    taken = [draft for draft, published in zip(drafts, stored, strict=True) if not published]
    settled: Iterator[Published | HeraldError] = iter([])
    if taken:
        async with database.session() as session:
            settled = iter(await store(session, settings, taken))
            await commit(session)
    by_draft = iter(stored)
    return [(next(by_draft) or next(settled)) if isinstance(o, Draft) else o for o in outcomes]


async def _store_in_one_statement(
    session: AsyncSession, drafts: Sequence[Draft]
) -> list[Published | None]:
    """Insert the drafts with their deliveries; ``None`` for those whose dedupe key was
    taken (nothing of them is written). Their lanes are woken at ``commit(session)``."""
    if not drafts:
        return []
    now = utcnow()
    messages = [new_message(draft, now) for draft in drafts]
    fan_out = FanOut.of(targets_of(zip(drafts, messages, strict=True), {}), now)
    inserted = set(
        (
            await session.execute(
                _STORE,
                {
                    "now": now,
                    "ids": [m.id for m in messages],
                    "projects": [m.project_id for m in messages],
                    "tenants": [m.tenant_id for m in messages],
                    "event_types": [m.event_type for m in messages],
                    "event_ids": [m.event_id for m in messages],
                    "dedupe_keys": [m.dedupe_key for m in messages],
                    "payloads": [m.payload for m in messages],
                    # As the ORM stores them, None included (as JSON null).
                    "channels": [json_text(m.channels) for m in messages],
                    "headers": [json_text(m.headers) for m in messages],
                    "delivery_ids": [row["id"] for row in fan_out.rows],
                    "delivery_messages": [row["message_id"] for row in fan_out.rows],
                    "delivery_endpoints": [row["endpoint_id"] for row in fan_out.rows],
                    **PENDING,
                },
            )
        ).scalars()
    )
    for work in fan_out.lane_work(inserted):
        enqueue_after_commit(session, work)
    return [Published(m, created=True) if m.id in inserted else None for m in messages]
