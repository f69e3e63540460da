"""devices.site: the site (fleet) a device belongs to; one planner lease per site.

Revision ID: 0012
Revises: 0009 (the chain runs 0008, 0010, 0011, 0009)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.add_column(sa.Column("site", sa.String(32), nullable=False, server_default="main"))
        batch_op.create_index("ix_devices_site", ["site"])


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_index("ix_devices_site")
        batch_op.drop_column("site")
