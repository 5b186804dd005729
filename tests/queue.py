"""A stand-in for the job queue: keeps what the app sends after each commit."""

from collections.abc import Sequence

from app.db.session import Job


class RecordingSender:
    """A ``JobSender`` that keeps what it was given."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    async def send(self, jobs: Sequence[Job]) -> None:
        self.jobs.extend(jobs)

    async def ping(self) -> None:
        return None

    def leases(self) -> dict[str, str]:
        """Delivery id → lease token, over every attempt job sent."""
        return {dlv: token for job in self.jobs for dlv, token in job.args[0].items()}
