"""The rate-limit phase: how exactly Herald holds an endpoint's ``rate_limit``.

For each limit of ``LIMITS_PER_S``, one after another so that each has the machine: a
tenant with one endpoint limited to it gets a backlog of ``limit × --limit-seconds``
messages published while the endpoint is paused, then the endpoint is resumed. From the
arrivals at the receiver: the busiest sliding one-second window and its excess over the
limit, and the drain rate from the first arrival to the last as a fraction of the limit.
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from typing import Any

from bench import load
from bench.herald_api import RELEASE_GRACE_S, make_tenant, publish_held, resume
from bench.stack import BenchStack
from bench.stats import busiest_window
from bench.watch import Arrival, ReceiverWatch

LIMITS_PER_S = (7, 300, 2000)
# A drain at the limit takes --limit-seconds: the phase waits up to this many times as
# long (beyond RELEASE_GRACE_S) before it reports ``complete: false``.
SLACK = 4.0


async def measure_limits(
    stack: BenchStack, watch: ReceiverWatch, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Run the phase (see the module); returns each limit's measures, keyed by the limit."""
    herald = stack.herald
    assert herald is not None and herald.project is not None
    wait_s = RELEASE_GRACE_S + SLACK * args.limit_seconds
    results = {}
    async with herald.client() as api, load.new_session(herald.project.headers) as client:
        for limit_per_s in LIMITS_PER_S:
            tenant = f"limit{limit_per_s}"  # also its receiver path segment
            url = f"{stack.receiver_url}/{tenant}/0"
            [endpoint_id] = await make_tenant(api, tenant, [url], rate_limit=limit_per_s)
            messages = round(limit_per_s * args.limit_seconds)
            held = await publish_held(
                api, client, herald.base_url, tenant, endpoint_id, messages, args.concurrency
            )
            resumed_at_s = await resume(api, tenant, endpoint_id)
            arrived = await watch.wait_for(tenant, held.statuses[202], wait_s)
            results[str(limit_per_s)] = {
                "rate_limit_per_s": limit_per_s,
                "publish_paused": held.summary(),
                **arrived.summary(),
                **_accuracy(await watch.arrivals(tenant), limit_per_s, resumed_at_s),
            }
    return results


def _accuracy(arrivals: list[Arrival], limit_per_s: int, resumed_at_s: float) -> dict[str, Any]:
    """How ``arrivals`` kept to ``limit_per_s``: the busiest one-second window and its
    excess, the rate from the first arrival to the last and its fraction of the limit
    (with the longest gap between arrivals, which tells a stall from an even shortfall),
    and the first arrival's delay after the resume; ``{}`` when nothing arrived."""
    times = sorted(arrival.at_s for arrival in arrivals)
    if not times:
        return {}
    busiest = busiest_window(times)
    span_s = times[-1] - times[0]
    drain_per_s = (len(times) - 1) / span_s if span_s > 0 else 0.0
    return {
        "first_delivery_after_resume_s": round(times[0] - resumed_at_s, 3),
        "busiest_second": busiest,
        "excess_over_limit": busiest - limit_per_s,
        "first_to_last_per_s": round(drain_per_s, 1),
        "drain_over_limit": round(drain_per_s / limit_per_s, 3),
        "longest_gap_s": round(max((b - a for a, b in pairwise(times)), default=0.0), 3),
    }
