from datetime import datetime
from typing import Annotated, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Scope = Literal["admin", "publish", "read"]
MAX_OVERLAP_S = 7 * 24 * 3600


class ApiKeyIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=3)] = msgspec.field(
        default_factory=lambda: ["admin"]
    )
    expires_at: datetime | None = None


class RotateIn(msgspec.Struct, forbid_unknown_fields=True):
    overlap_s: Annotated[int, msgspec.Meta(ge=0, le=MAX_OVERLAP_S)] = 0


class ApiKeyOut(msgspec.Struct):
    id: str
    name: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str  # shown in this reply only
