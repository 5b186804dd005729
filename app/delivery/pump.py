"""A worker process's delivery loop: take grants from the lanes, claim, send, record.

The pump holds at most ``worker_concurrency`` deliveries at once, from claim to record.
Whenever at least an eighth of that is free it pops the lanes for more, which grant it
work fairly across tenants and endpoints within their caps and rate limits; when nothing
is eligible it sleeps until a touch wakes it or the next lane comes due. Each delivery
of a grant is sent on its own task, no earlier than its rate-limit slot, released to the
lanes as soon as its request is over, and recorded in a group commit with whatever else
finished meanwhile (``app.batching``): nothing waits holding a place another endpoint
needs.

Failures stay local. A claim that fails gives its grants back and is tried again at the
next pop; a record that fails for want of the database is retried until it is written
(until its lease runs out); a record the database refuses is written again without the
response, alone. The lanes being unreachable only pauses popping.
"""

import asyncio
import contextlib
import itertools
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial

import aiohttp

from app.batching import Batcher
from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database, commit
from app.delivery.claim import Claimed, Lease, Outcome, claim_grants, new_lease, release_lease
from app.delivery.client import AttemptResult
from app.delivery.keycache import SigningKeyCache
from app.delivery.lanes import Grant, Lanes, Popped, Release, Settlement
from app.delivery.recording import Sent, record_attempts
from app.delivery.send import send
from app.delivery.ssrf import NetworkPolicy
from app.errors_render import is_dependency_down

log = logging.getLogger("herald.pump")

IDLE_WAIT_S = 1.0  # the longest sleep between pops: also the heartbeat
RELEASE_EVERY_S = 0.05  # finished deliveries are told to the lanes at least this often
MIN_WAIT_S = 0.005  # a lane due now but capped: look again soon, without spinning
RETRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


@dataclass
class DeliveryContext:
    """What a worker process needs to deliver; built once per event loop. Concurrent
    claims and records of the process share transactions (``app.batching``)."""

    settings: Settings
    database: Database
    http: aiohttp.ClientSession
    policy: NetworkPolicy
    lanes: Lanes
    keys: SigningKeyCache
    rng: random.Random = field(default_factory=random.Random)
    claims: Batcher[Sequence[Grant], list[Outcome]] = field(init=False)
    records: Batcher[Sent, None] = field(init=False)
    _giving_back: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.claims = Batcher("claim", partial(_claim_batch, self))
        self.records = Batcher("record", partial(_record_batch, self))

    async def close(self) -> None:
        await self.claims.close()
        await self.records.close()
        for task in list(self._giving_back):
            task.cancel()

    def give_back(self, lease: Lease) -> None:
        """Release ``lease`` in the background, retrying while the database is down."""
        task = asyncio.create_task(self._give_back(lease))
        self._giving_back.add(task)
        task.add_done_callback(self._giving_back.discard)

    async def _give_back(self, lease: Lease) -> None:
        for attempt in itertools.count():
            try:
                async with self.database.session() as session:
                    released = await release_lease(session, lease)
                    await commit(session)
            except Exception as exc:
                backoff_s = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
                if utcnow() + timedelta(seconds=backoff_s) >= lease.until:
                    log.warning("lease of a failed claim left to lapse (%s)", type(exc).__name__)
                    return
                await asyncio.sleep(backoff_s)
            else:
                if released:
                    log.info("gave back %d deliveries of a failed claim", released)
                return


async def _claim_batch(ctx: DeliveryContext, batches: list[Sequence[Grant]]) -> list[list[Outcome]]:
    """Claim the grants of concurrent pops together; each gets its own grants' outcome.
    A claim that fails may still have leased rows (its reply lost with the connection):
    they are given back as soon as the database answers, not left to lapse."""
    grants = [grant for batch in batches for grant in batch]
    now = utcnow()
    lease = new_lease(ctx.settings, now)
    try:
        # On PostgreSQL each statement of a claim is atomic on its own, and none needs a
        # transaction with another: autocommit saves the BEGIN and COMMIT round trips.
        async with ctx.database.session(autocommit=ctx.database.is_postgresql) as session:
            outcomes = await claim_grants(session, ctx.settings, ctx.keys, grants, now, lease)
            await commit(session)
    except BaseException:
        ctx.give_back(lease)
        raise
    parts, start = [], 0
    for batch in batches:
        parts.append(outcomes[start : start + len(batch)])
        start += len(batch)
    return parts


async def _record_batch(ctx: DeliveryContext, sent: list[Sent]) -> list[None]:
    async with ctx.database.session() as session:
        await record_attempts(session, ctx.settings, sent, ctx.rng, utcnow())
        await commit(session)
    return [None] * len(sent)


def pump_name() -> str:
    """A name no other worker has: host, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Pump:
    def __init__(self, ctx: DeliveryContext, name: str | None = None) -> None:
        self.ctx = ctx
        self.name = name or pump_name()
        self.capacity = ctx.settings.worker_concurrency
        self.in_hand = 0
        self._releases: list[Release] = []
        self._changed = asyncio.Event()  # a delivery ended its request, or left the hand
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then finish what is in hand. Never raises: a
        step that fails (the lanes unreachable, say) is tried again after a back-off."""
        log.info("delivery pump %s started (%d in hand at most)", self.name, self.capacity)
        failures = 0
        while not stop.is_set():
            try:
                await self._step(stop)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("lanes unavailable (%s: %s); retrying", type(exc).__name__, exc)
                await _sleep_or_stop(stop, RETRY_BACKOFF_S[min(failures, 4)])
        await self._drain()
        log.info("delivery pump %s stopped", self.name)

    async def _step(self, stop: asyncio.Event) -> None:
        """Wait for room, or pop and start what the lanes grant, or wait for work."""
        free = self.capacity - self.in_hand
        if self.in_hand and free < max(1, self.capacity // 8):
            await self._wait_for_room()
            return
        releases, self._releases = self._releases, []
        try:
            popped = await self.ctx.lanes.pop(self.name, free, releases)
        except BaseException:
            self._releases = releases + self._releases
            raise
        if popped.grants:
            self._start(popped)
        else:
            await self._idle(stop, popped)

    def _start(self, popped: Popped) -> None:
        self.in_hand += sum(grant.count for grant in popped.grants)
        # The lanes' clock → this process's: slots are in the lanes' microseconds.
        offset_s = popped.now_us / 1e6 - time.time()
        task = asyncio.create_task(self._work(popped.grants, offset_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, grants: Sequence[Grant], offset_s: float) -> None:
        try:
            outcomes = await self.ctx.claims.submit(grants)
        except Exception as exc:
            log.warning("claim failed (%s: %s); its grants go back", type(exc).__name__, exc)
            outcomes = [([], Settlement(grant, 0, "more")) for grant in grants]
        settlements = [settlement for _, settlement in outcomes]
        unused = sum(s.grant.count - s.used for s in settlements)
        try:
            await self.ctx.lanes.settle(self.name, settlements)
        except Exception as exc:
            log.warning("lanes unavailable to settle (%s)", type(exc).__name__)
            self._releases += [
                Release(s.grant.endpoint_id, s.grant.tenant_id, s.grant.count - s.used)
                for s in settlements
                if s.grant.count > s.used
            ]
        self._done(unused)
        claimed = [item for items, _ in outcomes for item in items]
        await asyncio.gather(*(self._deliver(item, offset_s) for item in claimed))

    async def _deliver(self, item: Claimed, offset_s: float) -> None:
        released = False
        try:
            if item.not_before_us is not None:
                delay_s = item.not_before_us / 1e6 - offset_s - time.time()
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
            result = await send(
                self.ctx.http, item, self.ctx.settings.request_timeout_s, self.ctx.policy
            )
            self._release(item)
            released = True
            await self._record(Sent(item, result))
        except Exception:
            log.exception("delivery %s could not be completed", item.delivery.id)
        finally:
            if not released:
                self._release(item)
            self._done(1)

    async def _record(self, sent: Sent) -> None:
        """Write ``sent``. While the database is unavailable, try again until the claim's
        lease runs out (after that another worker may claim the delivery again, and
        whichever records first decides its next state); if the database refuses the
        row itself, write the attempt once more without what the receiver sent."""
        failures = 0
        while True:
            try:
                await self.ctx.records.submit(sent)
                return
            except Exception as exc:
                if not is_dependency_down(exc):
                    log.warning("attempt of %s refused (%s); recording it bare", _id(sent), exc)
                    await self.ctx.records.submit(Sent(sent.item, _bare(sent.result)))
                    return
                backoff_s = RETRY_BACKOFF_S[min(failures, len(RETRY_BACKOFF_S) - 1)]
                if utcnow() + timedelta(seconds=backoff_s) >= sent.item.lease_until:
                    raise
                failures += 1
                await asyncio.sleep(backoff_s)

    def _release(self, item: Claimed) -> None:
        """Its request is over: its place in its lane's and tenant's caps is free."""
        self._releases.append(Release(item.endpoint.id, item.tenant.id))
        self._changed.set()

    def _done(self, count: int) -> None:
        if count:
            self.in_hand -= count
            self._changed.set()

    async def _wait_for_changes(self, timeout_s: float) -> None:
        """Until a delivery in hand ends its request or leaves the hand, or ``timeout_s``;
        at once if one did since the last pop or flush."""
        if self._releases:
            return
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)

    async def _wait_for_room(self) -> None:
        await self._wait_for_changes(RELEASE_EVERY_S)
        await self._flush_releases()

    async def _idle(self, stop: asyncio.Event, popped: Popped) -> None:
        """Nothing was granted: wait until the next lane comes due or a touch may have made
        work. With deliveries in hand, pop again as soon as one ends its request: that
        frees a place in a lane that may be capped (the pop tells the lanes)."""
        wait_s = IDLE_WAIT_S
        if popped.next_us is not None:
            wait_s = min(wait_s, max(0.0, (popped.next_us - popped.now_us) / 1e6))
        wait_s = max(wait_s, MIN_WAIT_S)
        if stop.is_set():
            return
        if self.in_hand or self._releases:
            await self._wait_for_changes(min(wait_s, RELEASE_EVERY_S))
        else:
            await self.ctx.lanes.wait(self.name, wait_s)

    async def _flush_releases(self) -> None:
        releases, self._releases = self._releases, []
        try:
            await self.ctx.lanes.release(self.name, releases)
        except Exception as exc:
            self._releases = releases + self._releases
            log.warning("lanes unavailable to release (%s)", type(exc).__name__)

    async def _drain(self) -> None:
        """Finish what is in hand (sends have their timeout), then tell the lanes."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._flush_releases()


def _bare(result: AttemptResult) -> AttemptResult:
    return replace(result, body="", error="the receiver's response could not be stored")


def _id(sent: Sent) -> str:
    return sent.item.delivery.id


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
