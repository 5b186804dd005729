"""What a transaction asks of the world once it has committed: jobs and lane wake-ups.

A service that wants work done after its transaction calls
``app.db.session.enqueue_after_commit(session, item)``; ``commit(session)`` commits and
only then hands the items to the session's ``Sender``, and a rollback drops them. Two
kinds travel this way:

- ``Job``: a Dramatiq actor call (a replay step), carrying ids only;
- ``LaneWork``: "endpoint E of tenant T has deliveries due at ``due_at``", the wake-up
  of E's delivery lane in the fair scheduler (``app.delivery.lanes``). The deliveries
  themselves are rows in the database; a lost wake-up delays them until the scheduler's
  next pass finds them (``app.delivery.discovery``), it never loses them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Job:
    """A queue message: an actor name and JSON-safe positional arguments (ids, tokens)."""

    actor: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class LaneWork:
    """Endpoint ``endpoint_id`` (of ``tenant_id``, limited to ``rate_limit``/s, or not)
    has deliveries due at ``due_at``; ``reopen`` lifts the lane's circuit gate (the
    endpoint answered again)."""

    tenant_id: str
    endpoint_id: str
    rate_limit: int | None
    due_at: datetime
    reopen: bool = False


OutboxItem = Job | LaneWork


class Sender(Protocol):
    async def send(self, items: Sequence[OutboxItem]) -> None:
        """Hand jobs to the queue and wake-ups to the lanes. Must not raise: whatever is
        lost is found again by the scheduler."""

    async def ping(self) -> str | None:
        """Raise if the queue cannot be reached; else what identifies its current run
        (it changes when the queue restarts and may have lost what it held), or None
        where it cannot restart apart from this process."""


class DiscardingSender:
    """A sender for processes that never enqueue (migrations, CLI): drops everything."""

    async def send(self, items: Sequence[OutboxItem]) -> None:
        return None

    async def ping(self) -> str | None:
        return None
