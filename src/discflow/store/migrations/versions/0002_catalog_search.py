"""Full-text search over the catalog: FTS5 on SQLite, a GIN index on PostgreSQL.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PG_DOCUMENT = "to_tsvector('simple', search_text)"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # kept in step by discflow.store.catalog in the same transaction as contents
        op.execute(
            "CREATE VIRTUAL TABLE contents_fts USING fts5("
            "content_id UNINDEXED, title, description, tags,"
            " tokenize='unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX ix_contents_search ON contents USING GIN ({_PG_DOCUMENT})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE contents_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX ix_contents_search")
