"""Agent and mail tokens no longer in clear; sign-in failures kept in the database.

- ``devices.agent_token`` becomes ``agent_token_hash`` (sha256, to find the
  agent) and ``agent_token_sealed`` (sealed with the server key, for the
  dispatcher); existing tokens are converted, so enrolled agents keep working.
- ``users.mail_token`` becomes ``mail_token_hash`` (sha256 of the lowercased
  token); existing tokens keep working.
- ``signin_failures``: the sign-in throttle, shared by every worker process.

Revision ID: 0009
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from discflow.store._secrets import digest, seal
from discflow.store._types import UTCDateTime

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # plain ADD/DROP COLUMN, no batch copy: on SQLite a batch copy drops and recreates
    # ``devices``, which the foreign keys of device_media, jobs... do not allow
    op.add_column("devices", sa.Column("agent_token_hash", sa.String(64), nullable=True))
    op.add_column("devices", sa.Column("agent_token_sealed", sa.Text(), nullable=True))
    op.create_index("ix_devices_agent_token_hash", "devices", ["agent_token_hash"])
    devices = sa.table(
        "devices",
        sa.column("name", sa.String),
        sa.column("agent_token", sa.String),
        sa.column("agent_token_hash", sa.String),
        sa.column("agent_token_sealed", sa.Text),
    )
    rows = bind.execute(sa.select(devices.c.name, devices.c.agent_token)).all()
    for name, token in rows:
        if token:
            bind.execute(
                devices.update()
                .where(devices.c.name == name)
                .values(agent_token_hash=digest(token), agent_token_sealed=seal(token))
            )
    op.execute("ALTER TABLE devices DROP COLUMN agent_token")

    op.add_column("users", sa.Column("mail_token_hash", sa.String(64), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("mail_token", sa.String),
        sa.column("mail_token_hash", sa.String),
    )
    for user_id, token in bind.execute(sa.select(users.c.id, users.c.mail_token)).all():
        if token:
            bind.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(mail_token_hash=digest(token.lower()))
            )
    op.execute("ALTER TABLE users DROP COLUMN mail_token")

    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failed_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_signin_failures_key_at", "signin_failures", ["key", "failed_at"])


def downgrade() -> None:
    # the clear tokens cannot come back from digests: agents must be enrolled again
    op.drop_index("ix_signin_failures_key_at", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.add_column("users", sa.Column("mail_token", sa.String(64), nullable=True))
    op.execute("ALTER TABLE users DROP COLUMN mail_token_hash")
    op.add_column("devices", sa.Column("agent_token", sa.String(128), nullable=True))
    op.drop_index("ix_devices_agent_token_hash", table_name="devices")
    op.execute("ALTER TABLE devices DROP COLUMN agent_token_sealed")
    op.execute("ALTER TABLE devices DROP COLUMN agent_token_hash")
