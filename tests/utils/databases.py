"""A database of this run's own: one helper for the test suite and the benchmarks.

``private_database("sqlite", folder, "")`` is a file in ``folder``;
``private_database("postgresql", folder, server_url)`` creates a database named
for this process on that PostgreSQL server and drops it afterwards, so runs
side by side (several helpers, a benchmark beside the suite) never collide.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

__all__ = ["private_database", "private_postgres"]


@contextmanager
def private_postgres(server_url: str, *, prefix: str) -> Iterator[str]:
    """The URL of a fresh database ``<prefix>_<pid>`` on the server, dropped at the end."""
    server = make_url(server_url)
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def private_database(
    kind: str, folder: Path, server_url: str, *, prefix: str = "discflow_bench"
) -> Iterator[str]:
    """SQLite in ``folder`` or a private PostgreSQL database, by ``kind``."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'discflow.db'}"
        return
    with private_postgres(server_url, prefix=prefix) as url:
        yield url
