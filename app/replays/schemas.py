from datetime import datetime
from typing import Annotated, Literal

import msgspec

AwareDateTime = Annotated[datetime, msgspec.Meta(tz=True)]
ReplayableStatus = Literal["failed", "exhausted"]


def _both_statuses() -> list[ReplayableStatus]:
    return ["failed", "exhausted"]


class ReplayIn(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /replays``: which deliveries to resend (messages published in [since, until))."""

    since: AwareDateTime
    until: AwareDateTime | None = None
    tenant: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    event_type: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    status: Annotated[list[ReplayableStatus], msgspec.Meta(min_length=1, max_length=2)] = (
        msgspec.field(default_factory=_both_statuses)
    )


class RecoverIn(msgspec.Struct, forbid_unknown_fields=True):
    """``POST …/endpoints/{endpoint}/recover``: resend the endpoint's failures in the window."""

    since: AwareDateTime
    until: AwareDateTime | None = None


class ReplayActor(msgspec.Struct):
    """Who started a replay: ``api_key`` (``id`` the key's ``key_…``), ``staff`` (the
    console account's ``stf_…``), ``portal`` (the tenant's ``tnt_…``) or ``cli`` (``id`` the
    shell user, or null)."""

    kind: str
    id: str | None


class ReplayOut(msgspec.Struct):
    id: str
    status: str  # queued | running | completed | failed
    total: int  # matching deliveries counted at creation
    done: int  # deliveries processed so far (re-queued or skipped)
    requeued: int
    skipped: int  # already due under a replay, or an attempt already in flight
    percent: int
    tenant_id: str | None
    endpoint_id: str | None
    event_type: str | None
    statuses: list[str]
    since: datetime
    until: datetime
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    # Null for replays made before Herald recorded who started them.
    actor: ReplayActor | None = None
    # Re-queued deliveries that a replay attempt has delivered since; only on GET one.
    succeeded: int | None = None
