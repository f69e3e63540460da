"""requests.priority: how soon a request should be burned (low, normal, rush).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.String(8), nullable=False, server_default="normal")
        )
        batch_op.create_check_constraint(
            "ck_requests_priority", "priority IN ('low', 'normal', 'rush')"
        )


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch_op:
        batch_op.drop_constraint("ck_requests_priority", type_="check")
        batch_op.drop_column("priority")
