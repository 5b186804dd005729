from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, utcnow


class StaffAccount(Base):
    """A support-staff login for the console of one project; the password as argon2id."""

    __tablename__ = "staff_accounts"
    __table_args__ = (UniqueConstraint("project_id", "email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Copied into every console session; raising it signs the account out everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginFailure(Base):
    """Failed console logins per (email, client address), and per email from any address
    (``client_ip`` = ``"*"``), for throttling (``app.staff.throttle``).

    Kept in the database, not in process memory, so every API process sees the same
    count; ``locked_until`` is set when the count reaches the limit.
    """

    __tablename__ = "staff_login_failures"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    client_ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
