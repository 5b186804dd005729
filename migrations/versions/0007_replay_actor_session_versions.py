"""replays record who started them; portal and console sessions carry a version

Revision ID: 0007
Revises: 0006

``replays.actor_kind``/``actor_id``: who started the replay (``api_key`` and the key id,
``staff`` and the staff id, ``portal`` and the tenant id, ``cli`` and the shell user);
null for replays made before this revision. ``tenants.portal_session_version`` and
``staff_accounts.session_version`` are copied into every portal link, portal session and
console session; raising one ends every session (and unredeemed link) carrying the old
value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replays", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("actor_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("portal_session_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.drop_column("session_version")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("portal_session_version")
    with op.batch_alter_table("replays", schema=None) as batch_op:
        batch_op.drop_column("actor_id")
        batch_op.drop_column("actor_kind")
