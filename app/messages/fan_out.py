"""The deliveries a stored message fans out to, as rows to insert and jobs to send."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.config import Settings
from app.db.models import Endpoint, Message
from app.db.session import Job
from app.delivery.jobs import attempt_jobs, new_lease_token
from app.ids import new_id

if TYPE_CHECKING:
    from app.messages.service import NewMessage


@dataclass(frozen=True)
class FanOut:
    """The delivery rows of (message, endpoint) targets, due now, and the jobs to send
    once they are committed. A paused endpoint's delivery is held: due, with no lease
    and no job until the endpoint resumes."""

    token: str  # the lease of every delivery not held
    rows: list[dict[str, object]]

    @classmethod
    def of(
        cls,
        settings: Settings,
        targets: Sequence[tuple["Message | NewMessage", Endpoint]],
        now: datetime,
    ) -> "FanOut":
        token = new_lease_token()
        lease_until = now + timedelta(seconds=settings.requeue_after_s)
        rows: list[dict[str, object]] = [
            {
                "id": new_id("dlv"),
                "project_id": message.project_id,
                "tenant_id": message.tenant_id,
                "message_id": message.id,
                "endpoint_id": endpoint.id,
                "status": "pending",
                "attempt_count": 0,
                "next_attempt_at": now,
                "next_trigger": "scheduled",
                "lease_token": None if endpoint.paused else token,
                "lease_until": None if endpoint.paused else lease_until,
                "created_at": now,
                "updated_at": now,
            }
            for message, endpoint in targets
        ]
        return cls(token, rows)

    def jobs(self, message_ids: Collection[str] | None = None) -> list[Job]:
        """The jobs of the deliveries not held (of ``message_ids`` alone, when given)."""
        active = [
            str(row["id"])
            for row in self.rows
            if row["lease_token"] is not None
            and (message_ids is None or row["message_id"] in message_ids)
        ]
        return attempt_jobs(self.token, active)
