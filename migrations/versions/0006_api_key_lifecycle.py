"""API keys: names, scopes, expiry, revocation, last use

Revision ID: 0006
Revises: 0005

A project may hold any number of keys, each with scopes (``admin``, ``read``,
``publish``), an optional expiry and a revocation time. ``changed_at`` marks a key
revoked or shortened since it was minted: every api process reads the keys changed since
its last look (``ix_api_keys_changed_at``) and forgets them, so a revoked key is refused
everywhere within a second. Keys minted before this revision keep working as ``admin``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.String(length=200), nullable=False, server_default="default")
        )
        batch_op.add_column(
            sa.Column(
                "scopes",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=False,
                server_default=sa.text("'[\"admin\"]'"),
            )
        )
        batch_op.add_column(
            sa.Column("prefix", sa.String(length=16), nullable=False, server_default="hk_")
        )
        for column in ("expires_at", "revoked_at", "last_used_at", "changed_at"):
            batch_op.add_column(
                sa.Column(column, app.db.base.UTCDateTime(timezone=True), nullable=True)
            )
        batch_op.create_index("ix_api_keys_changed_at", ["changed_at"], unique=False)
        batch_op.create_index("ix_api_keys_project_id", ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_project_id")
        batch_op.drop_index("ix_api_keys_changed_at")
        for column in ("changed_at", "last_used_at", "revoked_at", "expires_at"):
            batch_op.drop_column(column)
        for column in ("prefix", "scopes", "name"):
            batch_op.drop_column(column)
