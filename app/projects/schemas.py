from typing import Annotated

import msgspec

HexColour = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
# The highest per-tenant endpoint limit a project may set: every message fans out to each
# of a tenant's endpoints, and the portal lists them on one page.
MAX_ENDPOINTS_PER_TENANT = 250
Seconds = Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600)]


class Branding(msgspec.Struct, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    logo_url: Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://")] | None = None
    accent_color: HexColour | None = None


class ProjectOut(msgspec.Struct):
    id: str
    name: str
    retry_schedule: list[int]
    secret_overlap_seconds: int
    disable_after_seconds: int
    failing_after_attempts: int
    retention_days: int
    max_endpoints_per_tenant: int
    branding: Branding


class ProjectPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    retry_schedule: (
        Annotated[list[Seconds], msgspec.Meta(min_length=1, max_length=50)] | msgspec.UnsetType
    ) = msgspec.UNSET
    secret_overlap_seconds: Seconds | msgspec.UnsetType = msgspec.UNSET
    disable_after_seconds: (
        Annotated[int, msgspec.Meta(ge=3600, le=90 * 24 * 3600)] | msgspec.UnsetType
    ) = msgspec.UNSET
    failing_after_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | msgspec.UnsetType = msgspec.UNSET
    max_endpoints_per_tenant: (
        Annotated[int, msgspec.Meta(ge=1, le=MAX_ENDPOINTS_PER_TENANT)] | msgspec.UnsetType
    ) = msgspec.UNSET
    branding: Branding | msgspec.UnsetType = msgspec.UNSET
