from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, JSONValue, UTCDateTime, utcnow


class Project(Base):
    """One producer environment: owns API keys, tenants, event types and settings."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    retry_schedule_s: Mapped[list[int]] = mapped_column(JSONValue)
    secret_overlap_s: Mapped[int] = mapped_column(Integer, default=24 * 3600)
    disable_after_s: Mapped[int] = mapped_column(Integer, default=5 * 24 * 3600)
    failing_after_attempts: Mapped[int] = mapped_column(Integer, default=4)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    # Creating one more endpoint than this for one tenant is refused (``endpoint_limit``).
    max_endpoints_per_tenant: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    branding: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """A project's API key, stored as its SHA-256 digest only (and the first characters
    of the key, to tell keys apart in lists). It works until ``expires_at`` or
    ``revoked_at``; ``changed_at`` is set whenever either is brought forward, which tells
    every api process to forget what it cached (``app.auth``)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    key_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="default")
    scopes: Mapped[list[str]] = mapped_column(JSONValue, default=lambda: ["admin"])
    prefix: Mapped[str] = mapped_column(String(16), default="hk_")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
