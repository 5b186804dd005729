"""A stand-in for the job queue and the lanes: keeps what the app sends after each commit."""

from collections.abc import Sequence

from app.outbox import Job, LaneWork, OutboxItem


class RecordingSender:
    """A ``Sender`` that keeps what it was given."""

    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    async def send(self, items: Sequence[OutboxItem]) -> None:
        self.items.extend(items)

    async def ping(self) -> str | None:
        return None

    @property
    def jobs(self) -> list[Job]:
        return [item for item in self.items if isinstance(item, Job)]

    @property
    def woken(self) -> list[LaneWork]:
        """Every lane wake-up sent, in order."""
        return [item for item in self.items if isinstance(item, LaneWork)]
