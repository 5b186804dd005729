"""The queue messages that ask a worker to attempt deliveries.

A job carries delivery ids and the lease token they were enqueued under; a worker may
attempt a delivery only while its row still holds that token (see ``Delivery``).
"""

import secrets
from collections.abc import Sequence

from app.db.session import Job

ATTEMPT_ACTOR = "delivery.attempt"
MAX_BATCH = 100


def new_lease_token() -> str:
    return secrets.token_hex(12)


def attempt_jobs(token: str, delivery_ids: Sequence[str]) -> list[Job]:
    """One job per ``MAX_BATCH`` deliveries, all under ``token``."""
    return [
        Job(ATTEMPT_ACTOR, (token, list(delivery_ids[start : start + MAX_BATCH])))
        for start in range(0, len(delivery_ids), MAX_BATCH)
    ]
