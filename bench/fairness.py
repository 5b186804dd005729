"""The fairness phase: one tenant's backlog released at once beside another's trickle.

Tenant A (one endpoint) gets ``--fairness-backlog`` messages published while its endpoint
is paused. Tenant B (one endpoint, another receiver path) publishes at a steady
``--fairness-rate``, each payload stamped with its send time: first for ``IDLE_S`` with
nothing else running (B's idle latency), then from just before A's endpoint is resumed
until A's backlog has arrived. B's latency during the drain is that of its messages sent
between A's first and last arrival. A's drain rate counts from the resume to its last
arrival (bench/report.py sets it against the plain backlog drain); the delay of A's first
delivery after the resume is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench import load
from bench.herald_api import RELEASE_GRACE_S, make_tenant, messages_url, publish_held, resume
from bench.stack import BenchStack
from bench.stats import latencies_sent_between, percentiles, release_summary
from bench.watch import Arrived, ReceiverWatch

BIG, SMALL = "fairA", "fairB"  # the tenants, and their receiver path segments
IDLE_S = 10.0
# The slowest drain the phase waits for (beyond RELEASE_GRACE_S) before it reports
# ``complete: false``: a bound, not a target.
FLOOR_DELIVERIES_PER_S = 100.0
TRICKLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Trickle:
    """B's paced publishing: what it got back, and when (``time.time()``) it ran."""

    report: load.LoadReport
    started_s: float
    ended_s: float


@dataclass(frozen=True)
class Release:
    """A's backlog released beside B's trickle: when, what arrived, what B sent."""

    resumed_at_s: float
    arrived: Arrived
    trickle: Trickle


async def measure_fairness(
    stack: BenchStack, watch: ReceiverWatch, args: argparse.Namespace
) -> dict[str, Any]:
    """Run the phase (see the module); returns what it measured, for the JSON."""
    herald = stack.herald
    assert herald is not None and herald.project is not None
    small_url = messages_url(herald.base_url, SMALL)
    async with herald.client() as api, load.new_session(herald.project.headers) as client:
        [big_id] = await make_tenant(api, BIG, [f"{stack.receiver_url}/{BIG}/0"])
        await make_tenant(api, SMALL, [f"{stack.receiver_url}/{SMALL}/0"])
        idle = await _trickle(client, small_url, args.fairness_rate, IDLE_S)
        held = await publish_held(
            api, client, herald.base_url, BIG, big_id, args.fairness_backlog, args.concurrency
        )
        release = await _release_beside_trickle(
            api, watch, client, big_id, held.statuses[202], small_url, args.fairness_rate
        )
    sent_by_small = idle.report.statuses[202] + release.trickle.report.statuses[202]
    small = await watch.wait_for(SMALL, sent_by_small, TRICKLE_TIMEOUT_S)
    return {
        "backlog_messages": args.fairness_backlog,
        "trickle_rate_per_s": args.fairness_rate,
        "a_publish_paused": held.summary(),
        "a_arrived": release.arrived.summary(),
        "b_arrived": small.summary(),
        **await _arrival_measures(watch, idle, release),
    }


async def _trickle(
    client: Any, url: str, rate_per_s: float, seconds: float, until: asyncio.Event | None = None
) -> Trickle:
    """Publish to ``url`` at ``rate_per_s`` for ``seconds``, or until ``until`` is set."""
    started_s = time.time()
    report = await load.paced(
        client, url, load.publish_body, int(rate_per_s * seconds) + 1, rate_per_s, until=until
    )
    return Trickle(report, started_s, time.time())


async def _release_beside_trickle(
    api: httpx.AsyncClient,
    watch: ReceiverWatch,
    client: Any,
    big_id: str,
    held: int,
    small_url: str,
    rate_per_s: float,
) -> Release:
    """Start B's trickle to ``small_url``, resume A's endpoint, and wait for A's ``held``
    deliveries (at most as long as a drain at FLOOR_DELIVERIES_PER_S would take, plus the
    grace); B's trickle stops when the wait ends."""
    timeout_s = RELEASE_GRACE_S + held / FLOOR_DELIVERIES_PER_S
    stop = asyncio.Event()
    trickle = asyncio.create_task(_trickle(client, small_url, rate_per_s, timeout_s, until=stop))
    try:
        resumed_at_s = await resume(api, BIG, big_id)
        arrived = await watch.wait_for(BIG, held, timeout_s)
    finally:
        stop.set()
        trickled = await trickle
    return Release(resumed_at_s, arrived, trickled)


async def _arrival_measures(
    watch: ReceiverWatch, idle: Trickle, release: Release
) -> dict[str, Any]:
    """A's release (first delivery, drain rate) and B's latency percentiles: idle, and
    for its messages sent between A's first and last arrival (empty when A got none)."""
    big_times = sorted(arrival.at_s for arrival in await watch.arrivals(BIG))
    small = await watch.arrivals(SMALL)
    summary: dict[str, Any] = {
        "a_drain": {},
        "b_idle": percentiles(latencies_sent_between(small, idle.started_s, idle.ended_s)),
        "b_during_drain": {},
    }
    if big_times:
        summary["a_drain"] = release_summary(big_times, release.resumed_at_s)
        during = latencies_sent_between(small, big_times[0], big_times[-1])
        summary["b_during_drain"] = percentiles(during)
    return summary
