"""What every command shares: settings, the database, consoles."""

from __future__ import annotations

from rich.console import Console

from discflow.settings import Settings
from discflow.store import Database

console = Console()
err_console = Console(stderr=True)


def open_database(settings: Settings | None = None) -> Database:
    """The configured database, migrated to the newest schema."""
    settings = settings or Settings()
    database = Database(settings.resolved_database_url())
    database.migrate()
    return database
