from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, JSONValue, UTCDateTime, utcnow


class Message(Base):
    """One published event for one tenant; ``payload`` holds the exact bytes sent."""

    __tablename__ = "messages"
    __table_args__ = (
        # Race-safe dedupe: concurrent duplicates collide here, not in a read-then-write.
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_messages_tenant_created", "tenant_id", "id"),
        Index("ix_messages_project", "project_id", "id"),  # the retention purge
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # event_id (or the Idempotency-Key) while inside the dedupe window, then cleared.
    dedupe_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    channels: Mapped[list[str] | None] = mapped_column(JSONValue, nullable=True)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONValue, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
