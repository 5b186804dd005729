from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, JSONValue, UTCDateTime, utcnow


class Tenant(Base):
    """One customer of the producer, addressed by id or by its producer-chosen ``uid``."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("project_id", "uid"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    uid: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONValue, default=dict)
    # The hidden tenant whose endpoints are the project's operational endpoints.
    is_operational: Mapped[bool] = mapped_column(Boolean, default=False)
    # Copied into every portal link and session; raising it ends them all.
    portal_session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
