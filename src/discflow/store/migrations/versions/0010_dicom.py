"""dicom: allowed peers, received instances, media creation requests; private contents

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dicom_peers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ae_title", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ae_title", "host"),
    )
    op.create_index("ix_dicom_peers_user_id", "dicom_peers", ["user_id"])
    op.create_table(
        "dicom_instances",
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("calling_ae", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("preserve", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("sop_instance_uid"),
    )
    op.create_index("ix_dicom_instances_user_id", "dicom_instances", ["user_id"])
    op.create_index("ix_dicom_instances_expires_at", "dicom_instances", ["expires_at"])
    op.create_table(
        "media_requests",
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("calling_ae", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("media", sa.String(length=16), nullable=False),
        sa.Column("discs", sa.JSON(), nullable=False),
        sa.Column("failed", sa.JSON(), nullable=False),
        sa.Column("status_info", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("uid"),
    )
    op.create_index("ix_media_requests_user_id", "media_requests", ["user_id"])
    op.create_index("ix_media_requests_state", "media_requests", ["state"])
    # a patient disc's content belongs to the ordering account and is not in the catalog;
    # a plain ADD COLUMN (no batch): rebuilding contents would trip the requests' foreign key
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with an inline REFERENCES; Alembic only offers a rebuild
        op.execute("ALTER TABLE contents ADD COLUMN owner_user_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("contents", sa.Column("owner_user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_contents_owner_user_id", "contents", "users", ["owner_user_id"], ["id"]
        )
    op.create_index("ix_contents_owner_user_id", "contents", ["owner_user_id"])


def downgrade() -> None:
    op.drop_index("ix_contents_owner_user_id", table_name="contents")
    with op.batch_alter_table("contents") as batch_op:
        batch_op.drop_column("owner_user_id")
    op.drop_table("media_requests")
    op.drop_table("dicom_instances")
    op.drop_table("dicom_peers")
