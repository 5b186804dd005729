"""The typed objects Herald's replies become: frozen dataclasses built by ``from_json``.

Fields Herald adds later are ignored (the whole reply stays in ``raw``); a field the
contract names but the reply lacks raises ``HeraldError``. Timestamps become aware
``datetime``s.
"""

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, Self

from herald_sdk.errors import HeraldError


@dataclass(frozen=True, kw_only=True)
class Model:
    """Base of every result; ``raw`` is the JSON object it was built from."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Build from a JSON object; raises ``HeraldError`` if a required field is missing."""
        values: dict[str, Any] = {"raw": data}
        for name, (hint, required) in _field_hints(cls).items():
            if name in data:
                values[name] = _convert(data[name], hint)
            elif required:
                raise HeraldError(f"unexpected reply: {cls.__name__} without {name!r}")
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class Tenant(Model):
    id: str
    uid: str
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class EventType(Model):
    id: str
    name: str
    description: str = ""
    schema: dict[str, Any] | None = None
    archived: bool = False
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Endpoint(Model):
    """``status`` is one of active, paused, disabled, failing."""

    id: str
    tenant_id: str
    url: str
    description: str = ""
    event_types: list[str] | None = None
    channels: list[str] | None = None
    rate_limit: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    disabled: bool = False
    disabled_reason: str | None = None
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class EndpointSecret(Model):
    """``key`` is ``whsec_…`` (HMAC) or ``whsk_…`` (ed25519, then ``public_key`` is ``whpk_…``)."""

    key: str = field(repr=False)
    public_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryCounts(Model):
    pending: int = 0
    succeeded: int = 0
    failed: int = 0
    exhausted: int = 0


@dataclass(frozen=True, kw_only=True)
class EndpointStats(Model):
    since: datetime
    counts: DeliveryCounts
    success_rate: float | None = None


@dataclass(frozen=True, kw_only=True)
class Message(Model):
    """``payload`` and ``headers`` are only filled by ``messages.get``."""

    id: str
    tenant_id: str
    event_type: str
    event_id: str | None = None
    channels: list[str] | None = None
    created_at: datetime
    payload: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class PublishedMessage(Message):
    """``duplicate`` is True when the event id or idempotency key was already published in
    the last 24 h: this is the first message, and nothing is delivered again."""

    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class Delivery(Model):
    """One message to one endpoint: pending, succeeded, failed or exhausted."""

    endpoint_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_attempt_at: datetime | None = None
    id: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Attempt(Model):
    """One HTTP request of a delivery. ``error_kind``: timeout, connect, dns, tls,
    http_status, blocked or None; ``trigger``: scheduled, manual or replay."""

    id: str
    message_id: str
    endpoint_id: str
    status: str
    response_status_code: int | None = None
    response_body: str = ""
    duration_ms: int
    error_kind: str | None = None
    error: str | None = None
    trigger: str
    created_at: datetime
    delivery_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class PortalAccess(Model):
    """A link into the tenant's portal; ``token`` is a credential, so it is not in repr."""

    url: str = field(repr=False)
    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReplayActor(Model):
    """Who started a replay: ``kind`` is ``api_key``, ``staff``, ``cli`` or ``portal``."""

    kind: str
    id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Replay(Model):
    """A bulk resend job: ``done`` of ``total`` deliveries handled so far."""

    id: str
    status: str
    total: int = 0
    done: int = 0
    actor: ReplayActor | None = None


@dataclass(frozen=True, kw_only=True)
class ApiKey(Model):
    """One of the project's API keys; ``prefix`` tells it apart, the key itself is not
    shown again after it was created."""

    id: str
    name: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class NewApiKey(ApiKey):
    """A key just created or rotated: ``key`` is the secret, in this reply only."""

    key: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Branding(Model):
    name: str | None = None
    logo_url: str | None = None
    accent_color: str | None = None


@dataclass(frozen=True, kw_only=True)
class Project(Model):
    id: str
    name: str
    retry_schedule: list[int]
    secret_overlap_seconds: int
    disable_after_seconds: int
    retention_days: int
    failing_after_attempts: int | None = None
    max_endpoints_per_tenant: int | None = None
    branding: Branding = field(default_factory=Branding)


_HINTS: dict[type[Model], dict[str, tuple[Any, bool]]] = {}


def _field_hints(cls: type[Model]) -> dict[str, tuple[Any, bool]]:
    """Each field but ``raw``: its resolved type, and whether the reply must carry it."""
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {
            f.name: (hints[f.name], f.default is MISSING and f.default_factory is MISSING)
            for f in fields(cls)
            if f.name != "raw"
        }
    return _HINTS[cls]


def _convert(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    target = _without_none(hint)
    if target is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(target, type) and issubclass(target, Model) and isinstance(value, Mapping):
        return target.from_json(value)
    return value


def _without_none(hint: Any) -> Any:
    """``X`` for ``X | None``; the hint itself otherwise."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return hint
