"""``make bench``: Herald's throughput, latency and memory against its own baselines.

One run starts PostgreSQL (durable), Redis, Herald (1 api, 2 worker processes, 1
scheduler, production settings), a fast receiver and a bare Litestar route
(bench/stack.py), then measures, in order:

1. raw: an aiohttp client posting the delivered bodies straight to the receiver;
2. bare: the same client posting publish bodies to a one-route Litestar app served like
   ``herald api``;
3. publish: with the workers stopped, so that publishing runs alone as the bare route
   did, the same client publishes ``--backlog`` messages to a tenant with one endpoint
   (publish req/s, the measure compared with the bare route);
4. backlog drain: start the workers and sample the RSS of every process (/proc) until
   the receiver has that backlog: start/half/peak/end per process;
5. fan-out 1: after a warm-up of 500 deliveries, publish a fixed batch to a tenant with
   one endpoint (publish req/s with the workers delivering on the same cores) and time
   until the receiver has every delivery (deliveries/s);
6. fan-out 10: the same with ten endpoints;
7. latency: publish paced at 200 msg/s; publish→delivered p50/p95/p99 from the
   ``sent_at`` stamp in each payload to its arrival;
8. fairness (bench/fairness.py): one tenant's ``--fairness-backlog`` held behind its
   paused endpoint and released at once, beside another tenant's paced messages: their
   latency idle and during the drain, and the drain rate against the plain backlog's;
9. rate limits (bench/limits.py): endpoints limited to 7, 300 and 2 000/s, each released
   from a backlog of ``--limit-seconds`` at its limit: the busiest second, the drain rate.

Every throughput phase is timed after a warm-up of 500 requests, as the baselines are.
The publish-alone and end-to-end phases also report the CPU each process tree spent per
request or delivery (/proc): with every core busy, that is what limits throughput.
It prints a table with the ratios and writes everything to bench/results/latest.json.
The 100 000-message drain of the issue: ``python -m bench.run --backlog 100000``.
``--profile DIR`` also records py-spy profiles (collapsed stacks) of the api while it
publishes, alone and in each end-to-end phase, and of one worker while it delivers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.eventloop import install_uvloop
from bench import load
from bench.cpu import CpuMeter
from bench.fairness import measure_fairness
from bench.herald_api import make_tenant
from bench.limits import measure_limits
from bench.memory import MemorySampler
from bench.profiling import Profiler
from bench.report import TARGETS, print_table, ratios
from bench.stack import WORKER_PROCESSES, WORKER_THREADS, BenchStack
from bench.stats import percentiles
from bench.watch import Arrived, ReceiverWatch
from tests.stack import WORKER_READY_LINE

RESULTS = Path(__file__).resolve().parent / "results"
# Requests in flight from the load client, in every phase but the paced latency one: the
# raw client's 64 is where aiohttp peaks here (MACHINE-NOTES), and the bare route and
# publishing are measured the same way, so their ratio compares like with like.
CONCURRENCY = 64
# Deliveries made before an end-to-end phase is timed: its first requests pay for cold
# caches and connections, as the baselines' first 500 requests do, untimed.
WARM_UP_DELIVERIES = 500
DRAIN_TIMEOUT_S = 600.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--raw-requests", type=int, default=20_000)
    parser.add_argument("--bare-requests", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=5_000, help="fan-out 1 batch")
    parser.add_argument("--fanout10-messages", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="publish/bare clients")
    parser.add_argument("--latency-rate", type=float, default=200.0, help="messages/s")
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument(
        "--backlog", type=int, default=10_000, help="publish-alone batch, then drained; 0 skips"
    )
    parser.add_argument(
        "--fairness-backlog", type=int, default=20_000, help="tenant A's held backlog; 0 skips"
    )
    parser.add_argument("--fairness-rate", type=float, default=20.0, help="tenant B's messages/s")
    parser.add_argument(
        "--limit-seconds",
        type=float,
        default=8.0,
        help="each rate-limit backlog, in seconds at its limit; 0 skips",
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy output directory")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every process is stopped either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # The load client on uvloop, like the receiver and Herald's processes: it shares the
    # machine's two cores with them, so the lighter it is, the more Herald gets.
    install_uvloop()
    with BenchStack(RESULTS / "logs") as stack:
        results = asyncio.run(measure(stack, args))
    results["ratios"] = ratios(results)
    results["targets"] = TARGETS
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten to {args.output}")
    return 0


async def measure(stack: BenchStack, args: argparse.Namespace) -> dict[str, Any]:
    assert stack.herald is not None and stack.herald.project is not None
    results: dict[str, Any] = {"setup": _setup(args), "started_at": time.time()}
    async with stack.herald.client() as api:
        for tenant, endpoints in (("f1", 1), ("f10", 10), ("lat", 1), ("backlog", 1)):
            urls = [f"{stack.receiver_url}/{tenant}/{i}" for i in range(endpoints)]
            await make_tenant(api, tenant, urls)
    publish_url = f"{stack.herald.base_url}/api/v1/tenants/{{}}/messages"
    async with ReceiverWatch(stack.receiver_url) as watch:
        async with load.new_session() as client:
            raw_url = f"{stack.receiver_url}/raw/0"
            results["raw_aiohttp"] = await _baseline(
                client,
                raw_url,
                load.raw_body,
                args.raw_requests,
                CONCURRENCY,
                ("receiver", stack.receiver.pid),
            )
            results["bare_route"] = await _baseline(
                client,
                stack.bare_url,
                load.publish_body,
                args.bare_requests,
                args.concurrency,
                ("bare route", stack.bare.pid),
            )
        headers = stack.herald.project.headers
        backlog_url = publish_url.format("backlog")
        # A fresh client per phase: between phases (a drain, workers stopping) its
        # keep-alive connections would idle past the server's timeout and reset.
        if args.backlog:
            await _stop_workers(stack)
            async with load.new_session(headers) as client:
                results["backlog"] = await _backlog(stack, watch, client, backlog_url, args)
        async with load.new_session(headers) as client:
            results["fanout_1"] = await _end_to_end(
                stack, watch, client, publish_url.format("f1"), "f1", args.messages, 1, args
            )
        async with load.new_session(headers) as client:
            results["fanout_10"] = await _end_to_end(
                stack,
                watch,
                client,
                publish_url.format("f10"),
                "f10",
                args.fanout10_messages,
                10,
                args,
            )
        async with load.new_session(headers) as client:
            results["latency"] = await _latency(watch, client, publish_url.format("lat"), args)
        # Last, after today's figures: a backlog left undelivered here cannot slow them.
        if args.fairness_backlog:
            results["fairness"] = await measure_fairness(stack, watch, args)
        if args.limit_seconds:
            results["rate_limits"] = await measure_limits(stack, watch, args)
    return results


async def _baseline(
    client: Any,
    url: str,
    make_body: Any,
    requests: int,
    concurrency: int,
    server: tuple[str, int | None],
) -> dict[str, Any]:
    """A warm-up of 500, then ``requests`` POSTs at ``concurrency``; with the CPU the
    server and this client spent per request."""
    await load.blast(client, url, make_body, 500, concurrency)
    name, pid = server
    meter = _cpu_meter({name: pid} if pid else {})
    report = await load.blast(client, url, make_body, requests, concurrency)
    cpu_s = meter.stop()
    if sum(n for status, n in report.statuses.items() if status in (200, 202)) < requests:
        raise RuntimeError(f"baseline {url} failed: {dict(report.statuses)}")
    return {**report.summary(), "cpu_ms_per_request": _per(cpu_s, report.sent)}


def _setup(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "herald": {
            "api_processes": 1,
            "worker_processes": WORKER_PROCESSES,
            "worker_threads": WORKER_THREADS,
            "schedulers": 1,
            "settings": "production defaults (bench/stack.py production_env)",
        },
        "postgres": "durable (fsync on, synchronous_commit on)",
        "redis": "no persistence",
        "publish_concurrency": args.concurrency,
        "raw_concurrency": CONCURRENCY,
        "body_bytes": len(load.raw_body(0)),
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


async def _end_to_end(
    stack: BenchStack,
    watch: ReceiverWatch,
    client: Any,
    url: str,
    segment: str,
    messages: int,
    fanout: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Publish ``messages`` and time until all ``messages × fanout`` deliveries arrived,
    after a warm-up (as the baselines have): ``WARM_UP_DELIVERIES`` delivered first."""
    profiler = Profiler(args.profile, stack)
    warm_up = await load.blast(
        client, url, load.publish_body, WARM_UP_DELIVERIES // fanout, args.concurrency
    )
    warmed = await watch.wait_for(segment, warm_up.statuses[202] * fanout, DRAIN_TIMEOUT_S)
    started = time.monotonic()
    meter = _cpu_meter(stack.roots())
    profiler.start_api(f"api-publish-{segment}")
    profiler.start_worker(f"worker-deliver-{segment}")
    publish = await load.blast(
        client, url, load.publish_body, messages, args.concurrency, first=warm_up.sent
    )
    accepted = publish.statuses[202]
    arrived = _after(
        warmed, await watch.wait_for(segment, warmed.unique + accepted * fanout, DRAIN_TIMEOUT_S)
    )
    elapsed_s = time.monotonic() - started
    cpu_s = meter.stop()
    profiler.finish()
    return {
        "messages": messages,
        "fanout": fanout,
        "publish": publish.summary(),
        "deliveries_expected": accepted * fanout,
        **arrived.summary(),
        "elapsed_s": round(elapsed_s, 3),
        "deliveries_per_s": round(arrived.count / elapsed_s, 1),
        "drain_after_publish_s": round(elapsed_s - publish.elapsed_s, 3),
        "cpu_ms_per_delivery": _per(cpu_s, arrived.count),
    }


def _cpu_meter(trees: Mapping[str, int]) -> CpuMeter:
    """CPU from now on of the named process trees, and of this load client."""
    meter = CpuMeter(trees, {"load client": os.getpid()})
    meter.start()
    return meter


def _per(cpu_s: dict[str, float], count: int) -> dict[str, float]:
    """Milliseconds of CPU per item, by process tree."""
    return (
        {name: round(seconds * 1000 / count, 3) for name, seconds in cpu_s.items()} if count else {}
    )


def _after(warm_up: Arrived, total: Arrived) -> Arrived:
    """What arrived after the warm-up."""
    return replace(
        total,
        count=total.count - warm_up.count,
        unique=total.unique - warm_up.unique,
        expected=total.expected - warm_up.unique,
    )


async def _latency(
    watch: ReceiverWatch, client: Any, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    total = int(args.latency_rate * args.latency_seconds)
    publish = await load.paced(client, url, load.publish_body, total, args.latency_rate)
    arrived = await watch.wait_for("lat", publish.statuses[202], DRAIN_TIMEOUT_S)
    latencies = await watch.latencies("lat")
    return {
        "rate_per_s": args.latency_rate,
        "publish": publish.summary(),
        **arrived.summary(),
        **percentiles(latencies),
    }


async def _stop_workers(stack: BenchStack) -> None:
    assert stack.herald is not None
    for worker in stack.herald.workers:
        await asyncio.to_thread(worker.stop)


async def _backlog(
    stack: BenchStack, watch: ReceiverWatch, client: Any, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Publish a backlog with the workers stopped (after a warm-up, like the baselines),
    then start them and drain it, sampling memory."""
    herald = stack.herald
    assert herald is not None
    profiler = Profiler(args.profile, stack)
    warm_up = await load.blast(client, url, load.publish_body, WARM_UP_DELIVERIES, args.concurrency)
    meter = _cpu_meter(stack.roots())
    profiler.start_api("api-publish-alone")
    publish = await load.blast(
        client, url, load.publish_body, args.backlog, args.concurrency, first=warm_up.sent
    )
    publish_cpu_s = meter.stop()
    profiler.finish()
    booted = [worker.log_text().count(WORKER_READY_LINE) for worker in herald.workers]
    for index in range(len(herald.workers)):
        herald.start_worker(index, wait=False)
    for index, before in enumerate(booted):
        # Memory is sampled from booted workers on: an importing process is no baseline.
        herald.wait_worker_ready(index, after=before)
    # Timed from the workers' readiness: a drain rate, not a boot time (which dominates
    # a small backlog). Deliveries made while the others booted count to the drain.
    started = time.monotonic()
    profiler.start_worker("worker-drain")
    sampler = MemorySampler(stack.roots())
    sampler.sample()
    arrived = await watch.wait_for(
        "backlog",
        warm_up.statuses[202] + publish.statuses[202],
        DRAIN_TIMEOUT_S,
        on_poll=sampler.sample,
        poll_s=0.5,
    )
    elapsed_s = time.monotonic() - started
    profiler.finish()
    sampler.sample()
    return {
        "messages": arrived.expected,
        "publish_workers_stopped": publish.summary(),
        "publish_cpu_ms_per_request": _per(publish_cpu_s, publish.sent),
        **arrived.summary(),
        "drain_s": round(elapsed_s, 3),
        "drain_deliveries_per_s": round(arrived.count / elapsed_s, 1),
        "memory": sampler.summary(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
