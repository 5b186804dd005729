"""The benchmark's ratios and its printed table."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "deliveries_per_s_fanout_1": 1000.0,
    "publish_over_bare": 0.3,
    "p95_ms_at_200": 125.0,
    # At most: tenant B's p50, and its p95, during tenant A's drain over B's idle ones.
    "fairness_latency_over_idle": 2.0,
    # At least: A's released backlog drains at this fraction of the plain backlog's rate.
    "fairness_drain_over_plain": 0.9,
    # At most: deliveries beyond an endpoint's rate limit in its busiest second.
    "rate_limit_excess": 1,
    # At least: a limited backlog drains (first to last arrival) at this fraction of it.
    "rate_limit_drain_over_limit": 0.9,
}


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Herald over its baselines: deliveries/s ÷ raw aiohttp, publish ÷ bare route.

    ``publish_over_bare`` is the like-for-like one, with the target: publishing alone, as
    the bare route ran. While the workers deliver, they share the cores with the api.
    """
    raw = results["raw_aiohttp"]["per_s"]
    bare = results["bare_route"]["per_s"]
    out = {
        "fanout_1_deliveries_over_raw": results["fanout_1"]["deliveries_per_s"] / raw,
        "fanout_10_deliveries_over_raw": results["fanout_10"]["deliveries_per_s"] / raw,
        "publish_delivering_over_bare": results["fanout_1"]["publish"]["per_s"] / bare,
    }
    if "backlog" in results:
        out["publish_over_bare"] = results["backlog"]["publish_workers_stopped"]["per_s"] / bare
        out["drain_deliveries_over_raw"] = results["backlog"]["drain_deliveries_per_s"] / raw
    out.update(_fairness_ratios(results))
    return {name: round(value, 3) for name, value in out.items()}


def _fairness_ratios(results: dict[str, Any]) -> dict[str, float]:
    """B's latencies during A's drain over idle; A's drain over the plain backlog's.
    Each only when both of its sides were measured."""
    fairness = results.get("fairness", {})
    idle, during = fairness.get("b_idle", {}), fairness.get("b_during_drain", {})
    out = {
        f"fairness_{p}_over_idle": during[f"{p}_ms"] / idle[f"{p}_ms"]
        for p in ("p50", "p95")
        if idle.get(f"{p}_ms") and f"{p}_ms" in during
    }
    drain = fairness.get("a_drain", {}).get("drain_deliveries_per_s")
    if drain is not None and "backlog" in results:
        out["fairness_drain_over_plain"] = drain / results["backlog"]["drain_deliveries_per_s"]
    return out


def print_table(results: dict[str, Any]) -> None:
    raw = results["raw_aiohttp"]["per_s"]
    bare = results["bare_route"]["per_s"]
    r = results["ratios"]
    f1, f10, lat = results["fanout_1"], results["fanout_10"], results["latency"]
    setup = results["setup"]
    rows = [
        (
            f"raw aiohttp → receiver ({setup['raw_concurrency']} concurrent)",
            f"{raw:,.0f} req/s",
            "baseline",
            "",
        ),
        (
            f"bare Litestar route ({setup['publish_concurrency']} concurrent)",
            f"{bare:,.0f} req/s",
            "baseline",
            "",
        ),
    ]
    if "backlog" in results:
        rows.append(
            (
                "publish (alone: workers stopped)",
                f"{results['backlog']['publish_workers_stopped']['per_s']:,.0f} req/s",
                f"{r['publish_over_bare']:.2f} × bare",
                f"≥ {TARGETS['publish_over_bare']:.2f} × bare",
            )
        )
    rows += [
        (
            "publish (workers delivering, same cores)",
            f"{f1['publish']['per_s']:,.0f} req/s",
            f"{r['publish_delivering_over_bare']:.2f} × bare",
            "",
        ),
        (
            "deliveries, fan-out 1 (end to end)",
            f"{f1['deliveries_per_s']:,.0f} /s",
            f"{r['fanout_1_deliveries_over_raw']:.2f} × raw",
            f"≥ {TARGETS['deliveries_per_s_fanout_1']:,.0f} /s",
        ),
        (
            "deliveries, fan-out 10 (end to end)",
            f"{f10['deliveries_per_s']:,.0f} /s",
            f"{r['fanout_10_deliveries_over_raw']:.2f} × raw",
            "",
        ),
        (
            f"latency at {lat['rate_per_s']:.0f} msg/s p50 / p95 / p99",
            " / ".join(f"{lat.get(p, 0):.0f}" for p in ("p50_ms", "p95_ms", "p99_ms")) + " ms",
            "",
            f"p95 < {TARGETS['p95_ms_at_200']:.0f} ms",
        ),
    ]
    if "backlog" in results:
        b = results["backlog"]
        rows.append(
            (
                f"backlog drain of {b['messages']:,}",
                f"{b['drain_deliveries_per_s']:,.0f} /s",
                f"{r['drain_deliveries_over_raw']:.2f} × raw",
                "",
            )
        )
    rows += _fairness_rows(results) + _limit_rows(results)
    width = max(len(row[0]) for row in rows)
    print(f"\n{'measure':<{width}}  {'value':>16}  {'ratio':>20}  target")
    for name, value, ratio, target in rows:
        print(f"{name:<{width}}  {value:>16}  {ratio:>20}  {target}")
    _print_incomplete(results)
    _print_cpu(results)
    if "backlog" in results:
        _print_memory(results["backlog"]["memory"])


def _fairness_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """B's latency idle and during A's drain, A's drain rate and first delivery; none
    when the phase was skipped."""
    if "fairness" not in results:
        return []
    f, r = results["fairness"], results["ratios"]
    latency_target = f"≤ {TARGETS['fairness_latency_over_idle']:.1f} × idle"
    drain = f["a_drain"]
    return [
        (
            f"fairness: B at {f['trickle_rate_per_s']:.0f} msg/s idle, p50 / p95",
            _p50_p95(f["b_idle"]),
            "",
            "",
        ),
        (
            f"fairness: B during A's drain of {f['backlog_messages']:,}",
            _p50_p95(f["b_during_drain"]),
            " / ".join(_number(r.get(f"fairness_{p}_over_idle")) for p in ("p50", "p95"))
            + " × idle",
            f"{latency_target} (both)",
        ),
        (
            "fairness: A's drain, from its resume",
            f"{_number(drain.get('drain_deliveries_per_s'), ',.0f')} /s",
            f"{_number(r.get('fairness_drain_over_plain'))} × plain",
            f"≥ {TARGETS['fairness_drain_over_plain']:.2f} × plain",
        ),
        (
            "fairness: A's first delivery after resume",
            f"{_number(drain.get('first_delivery_after_resume_s'), '.1f')} s",
            "",
            "",
        ),
    ]


def _limit_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Each rate limit's busiest second and its drain rate against the limit."""
    rows = []
    for limit, m in results.get("rate_limits", {}).items():
        rows += [
            (
                f"rate limit {int(limit):,}/s: busiest second",
                _number(m.get("busiest_second"), ","),
                f"{_number(m.get('excess_over_limit'), '+,')} over",
                f"≤ +{TARGETS['rate_limit_excess']} over",
            ),
            (
                f"rate limit {int(limit):,}/s: drain, first→last",
                f"{_number(m.get('first_to_last_per_s'), ',.1f')} /s",
                f"{_number(m.get('drain_over_limit'))} × limit",
                f"≥ {TARGETS['rate_limit_drain_over_limit']:.2f} × limit",
            ),
        ]
    return rows


def _p50_p95(latency: dict[str, float]) -> str:
    return " / ".join(_number(latency.get(p), ".0f") for p in ("p50_ms", "p95_ms")) + " ms"


def _number(value: float | None, spec: str = ".2f") -> str:
    """``value`` formatted, or ``n/a`` when it was not measured."""
    return "n/a" if value is None else format(value, spec)


def _print_incomplete(results: dict[str, Any]) -> None:
    """A line for every phase whose deliveries did not all arrive, or arrived twice."""
    fairness = results.get("fairness", {})
    parts = [(name, results.get(name)) for name in ("fanout_1", "fanout_10", "latency", "backlog")]
    parts += [("fairness A", fairness.get("a_arrived")), ("fairness B", fairness.get("b_arrived"))]
    parts += [(f"rate limit {k}/s", m) for k, m in results.get("rate_limits", {}).items()]
    for name, part in parts:
        if part and (not part["complete"] or part["duplicates"]):
            print(f"! {name}: complete={part['complete']} duplicates={part['duplicates']}")


def _print_cpu(results: dict[str, Any]) -> None:
    """Whose CPU each request or delivery cost, the baselines' too: on a machine with
    every core busy, the throughput's limit, split by process tree."""
    phases = [
        ("raw aiohttp, per request", results["raw_aiohttp"].get("cpu_ms_per_request")),
        ("bare route, per request", results["bare_route"].get("cpu_ms_per_request")),
        (
            "publish alone, per request",
            results.get("backlog", {}).get("publish_cpu_ms_per_request"),
        ),
        ("fan-out 1, per delivery", results["fanout_1"].get("cpu_ms_per_delivery")),
        ("fan-out 10, per delivery", results["fanout_10"].get("cpu_ms_per_delivery")),
    ]
    measured = [(label, ms) for label, ms in phases if ms]
    if not measured:
        return
    names = list(dict.fromkeys(name for _, ms in measured for name in ms))
    width = max(len(label) for label, _ in measured)
    header = " ".join(f"{name[:11]:>11}" for name in names)
    print(f"\n{'CPU ms':<{width}} {header} {'total':>10}")
    for label, ms in measured:
        cells = " ".join(f"{ms.get(name, 0.0):>11.3f}" for name in names)
        print(f"{label:<{width}} {cells} {sum(ms.values()):>10.3f}")


def _print_memory(memory: dict[str, dict[str, dict[str, float]]]) -> None:
    """Every non-PostgreSQL process, then each process tree's total (PostgreSQL's backends
    are many and alike: their tree total says enough)."""
    print("\nRSS during the backlog drain, MiB        start    half    peak     end")
    rows = [(label, mem) for label, mem in memory["processes"].items() if "postgres" not in label]
    rows += [(f"total: {name}", mem) for name, mem in memory["trees"].items()]
    for label, mem in rows:
        if mem:
            columns = (mem[k] for k in ("start_mib", "half_mib", "peak_mib", "end_mib"))
            print(f"  {label[:56]:<56} " + " ".join(f"{value:>7}" for value in columns))
