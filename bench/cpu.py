"""CPU time of process trees, read from /proc (Linux): where a phase's cycles went.

On a machine whose every core is busy, throughput is CPU per message; this says whose.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bench.memory import process_tree

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` (all its threads); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Fields after the command name, which is in parentheses and may hold spaces:
    # utime and stime are the 14th and 15th fields of the line, 12th and 13th here.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


class CpuMeter:
    """CPU used between ``start()`` and ``stop()``: by each named process tree, and by
    each named single process (the benchmark's own, whose tree is everything)."""

    def __init__(self, trees: Mapping[str, int], processes: Mapping[str, int]) -> None:
        self.trees = dict(trees)
        self.processes = dict(processes)
        self._before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        """Seconds of CPU per name since ``start()``. A process that exited meanwhile is
        not counted; one that started is counted from zero."""
        after = self._read()
        return {
            name: round(
                sum(spent - self._before.get(name, {}).get(pid, 0.0) for pid, spent in now.items()),
                3,
            )
            for name, now in after.items()
        }

    def _read(self) -> dict[str, dict[int, float]]:
        pids = {name: process_tree(root) for name, root in self.trees.items()}
        pids.update({name: [pid] for name, pid in self.processes.items()})
        readings: dict[str, dict[int, float]] = {}
        for name, members in pids.items():
            readings[name] = {}
            for pid in members:
                spent = cpu_seconds(pid)
                if spent is not None:
                    readings[name][pid] = spent
        return readings
