from datetime import datetime
from typing import Annotated, Any

import msgspec

EventTypeName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Channel = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


class MessageIn(msgspec.Struct, forbid_unknown_fields=True):
    event_type: EventTypeName
    payload: dict[str, Any]
    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    channels: Annotated[list[Channel], msgspec.Meta(max_length=10)] | None = None
    headers: dict[str, str] | None = None


class MessageOut(msgspec.Struct):
    id: str
    tenant_id: str
    event_type: str
    event_id: str | None
    channels: list[str] | None
    created_at: datetime


class MessageDetailOut(MessageOut):
    payload: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))
    headers: dict[str, str] | None = None


class DeliveryOut(msgspec.Struct):
    id: str
    message_id: str
    endpoint_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_attempt_at: datetime | None
