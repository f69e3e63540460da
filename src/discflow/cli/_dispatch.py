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
    sites: str = typer.Option(
        "",
        help="comma-separated sites to plan (default: every site, shared with the other "
        "dispatchers: at most ceil(sites / live dispatchers) each)",
    ),
) -> None:
    """Run the dispatcher alone (when `discflow serve` runs with DISCFLOW_RUN_DISPATCHER=0)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # one line per agent call is noise at INFO and costs the dispatcher CPU on every push
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings()
    database = open_database(settings)
    dispatcher = Dispatcher(
        database,
        BlobStore(settings.archive_dir),
        dispatcher_settings(settings),
        owner=name or None,
        sites=[site.strip() for site in sites.split(",") if site.strip()],
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await dispatcher.run(stop)

    asyncio.run(main())
