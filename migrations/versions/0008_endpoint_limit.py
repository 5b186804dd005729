"""projects cap the endpoints of each tenant

Revision ID: 0008
Revises: 0007

``projects.max_endpoints_per_tenant``: how many endpoints one tenant may hold (default
50); creating one more is refused with ``endpoint_limit``. Existing projects get 50.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_endpoints_per_tenant", sa.Integer(), nullable=False, server_default="50")
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("max_endpoints_per_tenant")
