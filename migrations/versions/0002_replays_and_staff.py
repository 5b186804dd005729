"""replays and staff

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:14:15.333313
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "staff_login_failures",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", "client_ip", name=op.f("pk_staff_login_failures")),
    )
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_staff_accounts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("project_id", "email", name=op.f("uq_staff_accounts_project_id_email")),
    )
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_accounts_email"), ["email"], unique=False)

    op.create_table(
        "replays",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("endpoint_id", sa.String(length=40), nullable=True),
        sa.Column("event_type", sa.String(length=200), nullable=True),
        sa.Column(
            "statuses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("since", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("requeued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("progressed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_replays_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_replays_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_replays_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replays")),
    )
    with op.batch_alter_table("replays", schema=None) as batch_op:
        batch_op.create_index("ix_replays_project", ["project_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_replays_status"), ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("replays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replays_status"))
        batch_op.drop_index("ix_replays_project")

    op.drop_table("replays")
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_accounts_email"))

    op.drop_table("staff_accounts")
    op.drop_table("staff_login_failures")
