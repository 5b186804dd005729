from datetime import datetime
from typing import Annotated, Any

import msgspec

Uid = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TenantIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    uid: Uid | None = None
    metadata: dict[str, Any] = {}


class TenantPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    uid: Uid | msgspec.UnsetType = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class TenantOut(msgspec.Struct):
    id: str
    uid: str
    name: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
