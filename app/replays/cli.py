"""``herald replay``: create a replay and run its batches in this process, with a bar.

The CLI drives the batches itself (``run_replay``), so the bar finishes even when no
worker runs; the attempt jobs go to Redis when ``HERALD_REDIS_URL`` is set. Without it
they cannot reach a worker from here: the deliveries stay due as replays and the
scheduler of ``herald dev`` leases them once the leases lapse. If this process dies, the
scheduler resumes the replay through the workers (``resume_stalled``).
"""

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import TextIO

from app.config import Settings
from app.db.models import Replay
from app.db.session import Database, commit
from app.outbox import DiscardingSender, Sender
from app.replays.batches import run_replay
from app.replays.service import Actor, ReplayRequest, create_replay, percent, resolve_filter

BAR_WIDTH = 30


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_statuses(text: str) -> tuple[str, ...]:
    statuses = tuple(sorted({part.strip() for part in text.split(",") if part.strip()}))
    if not statuses or not set(statuses) <= {"failed", "exhausted"}:
        raise argparse.ArgumentTypeError("--status takes failed, exhausted or failed,exhausted")
    return statuses


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="the project id (prj_…)")
    parser.add_argument("--since", required=True, type=parse_time, help="ISO time (UTC if bare)")
    parser.add_argument("--until", type=parse_time, help="ISO time; default: now")
    parser.add_argument("--tenant", help="tenant id or uid")
    parser.add_argument("--endpoint", help="endpoint id (ep_…)")
    parser.add_argument("--event-type", dest="event_type")
    parser.add_argument(
        "--status", type=parse_statuses, default=("exhausted", "failed"), help="failed,exhausted"
    )


def shell_actor() -> Actor:
    """``cli`` and the user running the command, when the system can tell."""
    try:
        user: str | None = getpass.getuser()[:64] or None
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        user = None
    return Actor("cli", user)


def render_bar(replay: Replay) -> str:
    """``[#######-----]  42 %  4200/10000 re-queued 4100``: one line of progress."""
    pct = percent(replay)
    filled = BAR_WIDTH * pct // 100
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}] {pct:3d} %  {replay.done}/{replay.total}  re-queued {replay.requeued}"


async def replay_command(
    settings: Settings,
    args: argparse.Namespace,
    sender: Sender | None = None,
    out: TextIO = sys.stdout,
) -> Replay:
    """Create the replay of ``args`` and run it to the end, drawing the bar on ``out``."""
    database = Database(settings.database_url, sender=sender or DiscardingSender())
    tty = out.isatty()
    try:
        async with database.session() as session:
            request = ReplayRequest(
                since=args.since,
                until=args.until,
                tenant=args.tenant,
                endpoint=args.endpoint,
                event_type=args.event_type,
                statuses=tuple(args.status),
            )
            rules = await resolve_filter(session, args.project, request)
            replay = await create_replay(session, args.project, rules, shell_actor(), enqueue=False)
            await commit(session)
        print(f"replay {replay.id}: {replay.total} deliveries match", file=out)

        def draw(state: Replay) -> None:
            # A terminal gets one line redrawn in place; a pipe or log gets a line a batch.
            print(("\r" if tty else "") + render_bar(state), end="" if tty else "\n", file=out)
            out.flush()

        done = await run_replay(database, settings, replay.id, on_progress=draw)
        if tty:
            print(file=out)
        print(
            f"{done.status}: {done.requeued} re-queued, {done.skipped} already pending",
            file=out,
        )
        return done
    finally:
        await database.dispose()
