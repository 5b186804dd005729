from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]
EventTypeName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
]
Channel = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
EventTypeFilter = Annotated[list[EventTypeName], msgspec.Meta(max_length=250)]
ChannelFilter = Annotated[list[Channel], msgspec.Meta(max_length=50)]
RateLimit = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
KeyText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Status = Literal["active", "paused", "disabled", "failing"]


class EndpointIn(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    description: Description = ""
    event_types: EventTypeFilter | None = None
    channels: ChannelFilter | None = None
    rate_limit: RateLimit | None = None
    paused: bool = False
    disabled: bool = False
    secret: KeyText | None = None
    headers: dict[str, str] = {}
    metadata: dict[str, Any] = {}

    def __repr__(self) -> str:  # never show the secret
        return f"EndpointIn(url={self.url!r})"


class EndpointPatch(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypeFilter | msgspec.UnsetType | None = msgspec.UNSET
    channels: ChannelFilter | msgspec.UnsetType | None = msgspec.UNSET
    rate_limit: RateLimit | msgspec.UnsetType | None = msgspec.UNSET
    headers: dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    paused: bool | msgspec.UnsetType = msgspec.UNSET
    disabled: bool | msgspec.UnsetType = msgspec.UNSET


class EndpointOut(msgspec.Struct):
    id: str
    tenant_id: str
    url: str
    description: str
    event_types: list[str] | None
    channels: list[str] | None
    rate_limit: int | None
    headers: dict[str, str]
    metadata: dict[str, Any]
    paused: bool
    disabled: bool
    disabled_reason: str | None
    status: Status
    created_at: datetime
    updated_at: datetime


class SecretOut(msgspec.Struct, omit_defaults=True):
    key: str
    public_key: str | None = None

    def __repr__(self) -> str:
        return "SecretOut(…)"


class RotateIn(msgspec.Struct, forbid_unknown_fields=True):
    key: KeyText | None = None

    def __repr__(self) -> str:
        return "RotateIn(…)"


class DeliveryCounts(msgspec.Struct):
    pending: int = 0
    succeeded: int = 0
    failed: int = 0
    exhausted: int = 0


class StatsOut(msgspec.Struct):
    since: datetime
    counts: DeliveryCounts
    success_rate: float | None
