"""deliveries by endpoint and due time (lanes); attempts hang off their delivery alone

Revision ID: 0005
Revises: 0004

Workers claim an endpoint's due deliveries in due order, and the scheduler finds the
endpoints with due deliveries by skipping from one endpoint to the next: both read
``ix_deliveries_lane``. An attempt referenced its project, tenant, message and endpoint as
well as its delivery; deleting any of those deletes the delivery, and with it the attempt,
so only the delivery reference stays. Inserting an attempt then locks no other row, and a
recorder and a deletion of the endpoint or tenant cannot wait on each other in a cycle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARENTS = {
    "endpoint_id": "endpoints",
    "message_id": "messages",
    "project_id": "projects",
    "tenant_id": "tenants",
}


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_lane",
            ["endpoint_id", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
        )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        for column, parent in _PARENTS.items():
            batch_op.drop_constraint(f"fk_attempts_{column}_{parent}", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        for column, parent in _PARENTS.items():
            batch_op.create_foreign_key(
                f"fk_attempts_{column}_{parent}", parent, [column], ["id"], ondelete="CASCADE"
            )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_lane")
