"""The queue messages that ask a worker to attempt deliveries.

A job carries ``{delivery id: lease token}``: the token each delivery was enqueued under.
A worker may attempt a delivery only while its row still holds that token (see
``Delivery``), so jobs from different publishes can be merged into one queue message.
"""

import secrets
from collections.abc import Mapping, Sequence

from app.db.session import Job

ATTEMPT_ACTOR = "delivery.attempt"
MAX_BATCH = 100


def new_lease_token() -> str:
    return secrets.token_hex(12)


def attempt_jobs(token: str, delivery_ids: Sequence[str]) -> list[Job]:
    """One job per ``MAX_BATCH`` deliveries, all under ``token``."""
    return _chunked({delivery_id: token for delivery_id in delivery_ids})


def merge_attempt_jobs(jobs: Sequence[Job]) -> list[Job]:
    """The same leases in as few jobs as ``MAX_BATCH`` allows."""
    leases: dict[str, str] = {}
    for job in jobs:
        leases.update(job.args[0])
    return _chunked(leases)


def _chunked(leases: Mapping[str, str]) -> list[Job]:
    items = list(leases.items())
    return [
        Job(ATTEMPT_ACTOR, (dict(items[start : start + MAX_BATCH]),))
        for start in range(0, len(items), MAX_BATCH)
    ]
