"""Resident memory of process trees, read from /proc (Linux), sampled over time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def rss_bytes(pid: int) -> int | None:
    """The resident set size of ``pid``; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[1]) * PAGE_BYTES


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's children file, unioned)."""
    kids: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return []
    for task in tasks:
        try:
            kids.update(int(x) for x in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(kids)


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, parents first."""
    tree, queue = [], [pid]
    while queue and len(tree) < 10_000:
        current = queue.pop(0)
        tree.append(current)
        queue.extend(children_of(current))
    return tree


def command_name(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return "?"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    interesting = [w for w in words if not w.startswith("-") and "python" not in w]
    return " ".join(interesting[:4]) or (words[0] if words else "?")


@dataclass
class Series:
    """RSS samples of one process, in bytes."""

    label: str
    samples: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        if not self.samples:
            return {}
        # Halfway too: growth that stops (caches filling) shows as half ≈ end, a leak
        # as end - half ≈ half - start.
        return {
            "start_mib": round(self.samples[0] / MIB, 1),
            "half_mib": round(self.samples[len(self.samples) // 2] / MIB, 1),
            "peak_mib": round(max(self.samples) / MIB, 1),
            "end_mib": round(self.samples[-1] / MIB, 1),
            "samples": len(self.samples),
        }


class MemorySampler:
    """Samples every process under the given roots (named trees) at each ``sample()``.

    A process is keyed by its root's name and its pid; one that appears later (a worker
    restarted) gets its own series, one that exits stops being sampled.
    """

    def __init__(self, roots: Mapping[str, int]) -> None:
        self.roots = dict(roots)
        self.series: dict[str, Series] = {}
        self.trees: dict[str, Series] = {}

    def sample(self) -> None:
        for name, root in self.roots.items():
            total = 0
            for pid in process_tree(root):
                size = rss_bytes(pid)
                if size is None:
                    continue
                total += size
                key = f"{name}/{pid}"
                if key not in self.series:
                    self.series[key] = Series(f"{name} [{pid}] {command_name(pid)}")
                self.series[key].samples.append(size)
            self.trees.setdefault(name, Series(f"{name} (whole tree)")).samples.append(total)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{"processes": {label: start/peak/end}, "trees": {root name: …}}``."""
        return {
            "processes": {s.label: s.summary() for s in self.series.values()},
            "trees": {name: s.summary() for name, s in self.trees.items()},
        }
