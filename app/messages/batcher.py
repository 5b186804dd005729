"""Publishing in group commits: concurrent ``POST …/messages`` share one transaction.

Each request is answered only after the transaction holding its message committed, or
with the error that stopped it (see ``app.batching``).
"""

from app.batching import Batcher
from app.config import Settings
from app.db.session import Database, commit
from app.errors import HeraldError
from app.messages.one_write import publish_in_one_write
from app.messages.service import Published, PublishRequest, SchemaChanged, publish_many

# Measured here: one lane makes the largest batches and the most publishes/s.
LANES = 1


def publish_batcher(database: Database, settings: Settings) -> Batcher[PublishRequest, Published]:
    async def publish_batch(
        requests: list[PublishRequest],
    ) -> list[Published | HeraldError | SchemaChanged]:
        if database.is_postgresql:
            return await publish_in_one_write(database, settings, requests)
        async with database.session() as session:
            outcomes = await publish_many(session, settings, requests)
            await commit(session)
        return outcomes

    return Batcher("publish", publish_batch, lanes=LANES)
