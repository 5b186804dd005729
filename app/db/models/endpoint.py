from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, JSONValue, UTCDateTime, utcnow


class Endpoint(Base):
    """A tenant's URL that receives webhooks, with its filters, limits and health."""

    __tablename__ = "endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    event_types: Mapped[list[str] | None] = mapped_column(JSONValue, nullable=True)
    channels: Mapped[list[str] | None] = mapped_column(JSONValue, nullable=True)
    rate_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSONValue, default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONValue, default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Health: when the current run of failed attempts began (None after any success).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EndpointSecret(Base):
    """A signing key of an endpoint, encrypted at rest.

    The current key has ``expires_at`` None; a rotated-out key keeps signing beside the
    new one until its ``expires_at`` (the project's overlap window).
    """

    __tablename__ = "endpoint_secrets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), index=True
    )
    algorithm: Mapped[str] = mapped_column(String(20))  # "hmac-sha256" | "ed25519"
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
