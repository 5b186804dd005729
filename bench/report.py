"""The benchmark's ratios and its printed table."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "deliveries_per_s_fanout_1": 1000.0,
    "publish_over_bare": 0.3,
    "p95_ms_at_200": 125.0,
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
    return {name: round(value, 3) for name, value in out.items()}


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
    width = max(len(row[0]) for row in rows)
    print(f"\n{'measure':<{width}}  {'value':>16}  {'ratio':>14}  target")
    for name, value, ratio, target in rows:
        print(f"{name:<{width}}  {value:>16}  {ratio:>14}  {target}")
    for name in ("fanout_1", "fanout_10", "latency", "backlog"):
        part = results.get(name)
        if part and (not part["complete"] or part["duplicates"]):
            print(f"! {name}: complete={part['complete']} duplicates={part['duplicates']}")
    _print_cpu(results)
    if "backlog" in results:
        _print_memory(results["backlog"]["memory"])


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
