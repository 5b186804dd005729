"""How worker and scheduler processes set themselves up: event loops on uvloop, as
uvicorn runs the API's, and a worker's malloc arenas capped (workers/malloc.py).

Each check runs in a fresh interpreter: both settings are process-wide.
"""

import os
import platform
import subprocess
import sys
import textwrap

from tests.herald_cli import UNREACHED_PRODUCTION_ENV


def last_line_in_fresh_process(code: str) -> str:
    reply = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **UNREACHED_PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return reply.stdout.strip().splitlines()[-1]


def test_a_worker_process_delivers_on_uvloop() -> None:
    # Given a worker process, once Dramatiq imported its entry point
    # When the AsyncIO middleware makes the delivery loop, at worker boot
    module = last_line_in_fresh_process(
        """
        import logging
        import workers.entrypoint
        from dramatiq.asyncio import EventLoopThread
        print(type(EventLoopThread(logging.getLogger()).loop).__module__)
        """
    )
    # Then that loop is uvloop's
    assert module == "uvloop"


def test_the_scheduler_runs_on_uvloop() -> None:
    module = last_line_in_fresh_process(
        """
        import asyncio
        import workers.scheduler
        from app.cli import main

        async def report_the_loop(database, settings, stop):
            print(type(asyncio.get_running_loop()).__module__)

        workers.scheduler.run_scheduler = report_the_loop
        main(["scheduler"])
        """
    )
    assert module == "uvloop"


def test_a_worker_process_caps_its_malloc_arenas_before_it_starts_threads() -> None:
    said = last_line_in_fresh_process(
        """
        import threading
        import workers.malloc

        def report():
            print("capped with", threading.active_count(), "thread")
            return True

        workers.malloc.limit_malloc_arenas = report
        import workers.entrypoint
        """
    )
    assert said == "capped with 1 thread"


def test_the_cap_is_taken_on_glibc_and_not_tried_elsewhere() -> None:
    said = last_line_in_fresh_process(
        """
        from workers.malloc import limit_malloc_arenas
        print(limit_malloc_arenas())
        """
    )
    assert said == str(platform.libc_ver()[0] == "glibc")
