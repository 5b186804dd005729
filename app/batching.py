"""Group commit: concurrent callers share one run of a batch function.

A transaction costs a handful of round trips and a durable commit whatever it holds, so
the hot paths (publishing, claiming and recording deliveries) don't pay one each: a
caller ``submit``s its item and waits; a "lane" runs ``process`` on everything submitted
while its previous run was under way, then hands each caller its own outcome. Under
light load a batch is one item and nothing waits; under heavy load batches grow and the
cost per item falls.

A batch that raises for another reason than a dependency being down is run again one
item at a time, so one item the database refuses cannot fail its neighbours.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from app.errors import DependencyUnavailable
from app.errors_render import is_dependency_down

log = logging.getLogger("herald.batching")

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """``await batcher.submit(item)`` → ``item``'s outcome from ``process(batch)``, which
    returns one result or exception per item, in order. Lanes start on first use, in the
    caller's event loop."""

    def __init__(
        self,
        name: str,
        process: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_batch: int = 200,
        lanes: int = 1,
    ) -> None:
        self.name = name
        self.process = process
        self.max_batch = max_batch
        self.lane_count = lanes
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._arrived: asyncio.Event | None = None
        self._lanes: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        arrived = self._lanes_in(loop)
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        arrived.set()
        return await future

    async def close(self) -> None:
        """Stop the lanes, once no caller is waiting any more."""
        lanes, self._lanes, self._arrived = self._lanes, [], None
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
        arrived = self._arrived
        assert arrived is not None
        while True:
            await arrived.wait()
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            if not self._pending:
                arrived.clear()
            if not batch:
                continue
            try:
                await self._run(batch)
            except Exception as exc:
                # A bug in ``process`` (say, one outcome too few) fails its callers, not
                # the lane: a dead lane would stall every later caller without a word.
                log.exception("%s: a batch of %d could not be settled", self.name, len(batch))
                for _, future in batch:
                    _settle(future, exc)

    async def _run(self, batch: list[tuple[T, "asyncio.Future[R]"]]) -> None:
        try:
            outcomes = await self.process([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not is_dependency_down(exc):
                log.info("%s: a batch of %d failed (%r); one at a time", self.name, len(batch), exc)
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


def _settle(future: "asyncio.Future[R]", outcome: "R | BaseException") -> None:
    if future.done():  # the caller went away; what it asked for was done all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
