"""jobs.reason: why a dispatch job is where it is (a DispatchReason keyword).

Jobs lost while their device was offline were marked only in their error
text ("... offline for over N s"); they get the ``service-off-line`` reason,
which the dispatcher now reads instead.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(40), nullable=False, server_default="none")
        )
    op.execute(
        "UPDATE jobs SET reason = 'service-off-line' "
        "WHERE state = 'lost' AND error LIKE '%offline for over%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("reason")
