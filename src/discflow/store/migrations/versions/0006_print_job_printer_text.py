"""print_jobs.printer holds a whole printer name (a folder path can be long).

Revision ID: 0006
Revises: 0005_mail
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005_mail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("print_jobs") as batch_op:
        batch_op.alter_column(
            "printer", type_=sa.Text(), existing_type=sa.String(64), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("print_jobs") as batch_op:
        batch_op.alter_column(
            "printer", type_=sa.String(64), existing_type=sa.Text(), existing_nullable=False
        )
