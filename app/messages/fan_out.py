"""The deliveries a stored message fans out to, as rows to insert and lane wake-ups."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.db.models import Endpoint, Message
from app.ids import new_id
from app.outbox import LaneWork

if TYPE_CHECKING:
    from app.messages.service import NewMessage

# The constant columns of a new delivery (``app.messages.one_write`` writes the same).
PENDING = {"status": "pending", "attempt_count": 0, "next_trigger": "scheduled"}


@dataclass(frozen=True)
class FanOut:
    """The delivery rows of (message, endpoint) targets, all due now and unleased, and
    the lanes to wake once they are committed. A paused endpoint's lane is not woken:
    its deliveries wait, due, until it resumes."""

    rows: list[dict[str, object]]
    endpoints: dict[str, Endpoint]  # by id, every endpoint of ``rows``
    now: datetime

    @classmethod
    def of(
        cls, targets: Sequence[tuple["Message | NewMessage", Endpoint]], now: datetime
    ) -> "FanOut":
        rows: list[dict[str, object]] = [
            {
                "id": new_id("dlv"),
                "project_id": message.project_id,
                "tenant_id": message.tenant_id,
                "message_id": message.id,
                "endpoint_id": endpoint.id,
                **PENDING,
                "next_attempt_at": now,
                "lease_token": None,
                "lease_until": None,
                "created_at": now,
                "updated_at": now,
            }
            for message, endpoint in targets
        ]
        return cls(rows, {endpoint.id: endpoint for _, endpoint in targets}, now)

    def lane_work(self, message_ids: Collection[str] | None = None) -> list[LaneWork]:
        """The wake-ups of the rows' lanes (of ``message_ids``' rows alone, when given)."""
        woken = {
            str(row["endpoint_id"])
            for row in self.rows
            if message_ids is None or row["message_id"] in message_ids
        }
        return [
            LaneWork(endpoint.tenant_id, endpoint.id, endpoint.rate_limit, self.now)
            for endpoint_id in sorted(woken)
            if not (endpoint := self.endpoints[endpoint_id]).paused
        ]
