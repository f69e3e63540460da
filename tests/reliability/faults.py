"""Fault injectors for the campaign: each does one harmful thing and undoes it.

Invariant: every injector returns only once the system has what it needs to
recover (a killed process is started again, a lock is released); whether it
*did* recover is for the campaign's progress watch and the checker to judge.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import make_url

FAULT_TYPES = (
    "kill-server",
    "kill-dispatcher",
    "kill-agent",
    "agent-offline-past-grace",
    "cut-transfer",
    "corrupt-byte",
    "database-locked",
)


@contextmanager
def database_locked(database_url: str, *, seconds: float) -> Iterator[None]:
    """Hold the database's write lock for ``seconds`` (the block runs meanwhile).

    SQLite: an exclusive transaction on the file; PostgreSQL: an ACCESS
    EXCLUSIVE lock on the tables the dispatcher and the API write.
    """
    url = make_url(database_url)
    release = threading.Event()
    ready = threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            if url.get_backend_name() == "sqlite":
                connection = sqlite3.connect(str(url.database), timeout=30, isolation_level=None)
                try:
                    connection.execute("BEGIN EXCLUSIVE")
                    ready.set()
                    release.wait(seconds)
                    connection.execute("ROLLBACK")
                finally:
                    connection.close()
            else:
                import psycopg

                plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
                with psycopg.connect(plain) as connection:
                    # the tables are locked one after another, so the server's own
                    # transactions can deadlock with the injector; PostgreSQL then picks
                    # one victim: when it is the injector, try again (the fault is the lock)
                    for attempt in range(5):
                        try:
                            connection.execute(
                                "LOCK TABLE jobs, requests, orders, events IN ACCESS EXCLUSIVE MODE"
                            )
                            break
                        except psycopg.errors.DeadlockDetected:
                            connection.rollback()
                            if attempt == 4:
                                raise
                            time.sleep(0.2)
                    ready.set()
                    release.wait(seconds)
                    connection.rollback()
        except BaseException as error:  # reported to the caller below
            errors.append(error)
            ready.set()

    holder = threading.Thread(target=hold, name="db-lock", daemon=True)
    holder.start()
    ready.wait(35)
    if errors:
        raise errors[0]
    try:
        yield
    finally:
        holder.join(seconds + 35)


def hold_database_lock(database_url: str, *, seconds: float) -> None:
    with database_locked(database_url, seconds=seconds):
        time.sleep(seconds)
