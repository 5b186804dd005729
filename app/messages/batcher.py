"""Group commit for publishing: concurrent ``POST …/messages`` share one transaction.

Paying half a dozen round trips and a durable commit per message would cap publishing
at a few hundred a second. Instead each request joins the next transaction of a few
"lanes": while one lane's transaction is under way, new requests gather for the next, so
its cost is shared by all that arrived meanwhile. A request is answered only after the
transaction holding its message committed (or with the error that stopped it).

A batch that fails for another reason than the database being unreachable is retried one
request at a time, so one message the database refuses cannot fail its neighbours.
"""

import asyncio
import logging
from collections.abc import Sequence

from app.config import Settings
from app.db.session import Database, commit, rollback
from app.errors import DependencyUnavailable, HeraldError
from app.errors_render import is_dependency_down
from app.messages.service import Published, PublishRequest, publish_many

log = logging.getLogger("herald.publish")

MAX_BATCH = 200
LANES = 1  # measured here: one lane makes the largest batches and the most publishes/s

Outcome = Published | BaseException
Pending = tuple[PublishRequest, "asyncio.Future[Published]"]


class PublishBatcher:
    """One per app; lanes start on the first publish, in the loop serving requests."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        max_batch: int = MAX_BATCH,
        lanes: int = LANES,
    ) -> None:
        self.database = database
        self.settings = settings
        self.max_batch = max_batch
        self.lane_count = lanes
        self._pending: list[Pending] = []
        self._arrived: asyncio.Event | None = None
        self._lanes: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def publish(self, request: PublishRequest) -> Published:
        """Store ``request``'s message in the next transaction; its outcome once committed."""
        loop = asyncio.get_running_loop()
        arrived = self._lanes_in(loop)
        future: asyncio.Future[Published] = loop.create_future()
        self._pending.append((request, future))
        arrived.set()
        return await future

    async def close(self) -> None:
        """Stop the lanes (after the server has finished its requests)."""
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)

    def _lanes_in(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        if self._loop is not loop or self._arrived is None:
            # First use, or a new event loop (tests): what belonged to the old one is gone.
            self._loop, self._pending, self._arrived = loop, [], asyncio.Event()
            self._lanes = [loop.create_task(self._lane()) for _ in range(self.lane_count)]
        return self._arrived

    async def _lane(self) -> None:
        assert self._arrived is not None
        arrived = self._arrived
        while True:
            await arrived.wait()
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            if not self._pending:
                arrived.clear()
            if batch:
                await self._run(batch)

    async def _run(self, batch: Sequence[Pending]) -> None:
        try:
            outcomes: Sequence[Outcome] = await self._publish([request for request, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not is_dependency_down(exc):
                log.info(
                    "a batch of %d publishes failed (%r); retrying one by one", len(batch), exc
                )
                for pending in batch:
                    await self._run([pending])
                return
            outcomes = [exc] * len(batch)
        except BaseException:
            for _, future in batch:
                _settle(future, DependencyUnavailable("the server is shutting down; retry"))
            raise
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)

    async def _publish(self, requests: list[PublishRequest]) -> list[Published | HeraldError]:
        async with self.database.session() as session:
            try:
                outcomes = await publish_many(session, self.settings, requests)
            except BaseException:
                await rollback(session)
                raise
            await commit(session)
        return outcomes


def _settle(future: "asyncio.Future[Published]", outcome: Outcome) -> None:
    if future.done():  # the client went away; its message is stored all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
