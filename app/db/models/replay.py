from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, JSONValue, UTCDateTime, utcnow


class Replay(Base):
    """A bulk replay job: which deliveries to resend, and how far it has got.

    The filter is frozen at creation (``until`` defaults to the creation time), so the
    set of candidates is bounded. ``cursor`` is the last delivery id processed: batches
    walk deliveries by id, so a job that dies resumes after its last committed batch.
    """

    __tablename__ = "replays"
    __table_args__ = (Index("ix_replays_project", "project_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True
    )
    endpoint_id: Mapped[str | None] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=True
    )
    event_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    statuses: Mapped[list[str]] = mapped_column(JSONValue)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    # queued | running | completed | failed
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    requeued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last committed batch (or creation): the scheduler resumes a job silent for too long.
    progressed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who started it: api_key | staff | portal | cli, and the key, staff, tenant or shell
    # user; null for replays older than the column.
    actor_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
