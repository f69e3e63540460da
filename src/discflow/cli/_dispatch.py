from __future__ import annotations

import asyncio
import logging
import signal

import typer

from discflow.archive import BlobStore
from discflow.cli import app
from discflow.cli._common import open_database
from discflow.dispatcher import Dispatcher, dispatcher_settings
from discflow.settings import Settings


@app.command()
def dispatch(
    name: str = typer.Option("", help="this dispatcher's lease name (default host:pid)"),
) -> None:
    """Run the dispatcher alone (when `discflow serve` runs with DISCFLOW_RUN_DISPATCHER=0)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    database = open_database(settings)
    dispatcher = Dispatcher(
        database, BlobStore(settings.archive_dir), dispatcher_settings(settings), owner=name or None
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await dispatcher.run(stop)

    asyncio.run(main())
