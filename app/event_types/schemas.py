from datetime import datetime
from typing import Annotated, Any

import msgspec

EventTypeName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
]
Description = Annotated[str, msgspec.Meta(max_length=2000)]


class EventTypeIn(msgspec.Struct, forbid_unknown_fields=True):
    name: EventTypeName
    description: Description = ""
    schema: dict[str, Any] | None = None


class EventTypePatch(msgspec.Struct, forbid_unknown_fields=True):
    description: Description | msgspec.UnsetType = msgspec.UNSET
    schema: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    archived: bool | msgspec.UnsetType = msgspec.UNSET


class EventTypeOut(msgspec.Struct):
    id: str
    name: str
    description: str
    schema: dict[str, Any] | None
    archived: bool
    created_at: datetime
    updated_at: datetime
