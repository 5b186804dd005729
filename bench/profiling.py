"""Optional py-spy profiles of Herald's processes during a benchmark phase.

py-spy is a dev tool, not a dependency (``pip install py-spy``). Profiles are written as
collapsed stacks (``--format raw``: one ``frame;frame;… count`` line per stack), which
grep and flamegraph tools read, one thread per stack root (``--threads``: filter on the
thread, since an idle thread blocked in C can be sampled as busy); sampling is
non-blocking, so the run is barely slowed. Without a directory, a profiler does nothing.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.memory import process_tree, rss_bytes

if TYPE_CHECKING:
    from bench.stack import BenchStack

MAX_DURATION_S = 120
STOP_TIMEOUT_S = 10.0


class Profiler:
    def __init__(self, directory: Path | None, stack: BenchStack) -> None:
        self.directory = directory
        self.stack = stack
        self.binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.running: list[subprocess.Popen[bytes]] = []
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def start_api(self, name: str) -> None:
        assert self.stack.herald is not None and self.stack.herald.api.pid is not None
        self._record(name, self.stack.herald.api.pid)

    def start_worker(self, name: str) -> None:
        """Profile the busiest-looking (largest) process of worker 0's tree (the Dramatiq
        worker child, not its supervisor)."""
        assert self.stack.herald is not None and self.stack.herald.workers[0].pid is not None
        tree = process_tree(self.stack.herald.workers[0].pid)[1:] or [
            self.stack.herald.workers[0].pid
        ]
        self._record(name, max(tree, key=lambda pid: rss_bytes(pid) or 0))

    def _record(self, name: str, pid: int) -> None:
        if self.directory is None:
            return
        command = [
            self.binary,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--nonblocking",
            "--threads",
            "--duration",
            str(MAX_DURATION_S),
            "-o",
            str(self.directory / f"{name}.txt"),
        ]
        log = (self.directory / f"{name}.log").open("wb")
        self.running.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))

    def finish(self) -> None:
        """Stop every recording (SIGINT makes py-spy write its file) and wait for it."""
        for process in self.running:
            process.send_signal(signal.SIGINT)
        for process in self.running:
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        self.running.clear()
