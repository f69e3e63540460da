"""device_media.counted_at: when the agent read a bin's counts (stale heartbeats lose).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_media") as batch_op:
        batch_op.add_column(sa.Column("counted_at", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("device_media") as batch_op:
        batch_op.drop_column("counted_at")
