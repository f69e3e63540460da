from __future__ import annotations

import time

import typer
from rich.table import Table

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, open_database


@app.command()
def events(
    order: str | None = typer.Option(None, help="only this order's events"),
    request: str | None = typer.Option(None, help="only this request's events"),
    device: str | None = typer.Option(None, help="only this device's events"),
    limit: int = typer.Option(50, min=1, max=10_000, help="how many of the newest to show"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new events"),
) -> None:
    """Show the task log (oldest first), like ``tail``."""
    database = open_database()
    flt = store.EventFilter(order_id=order, request_id=request, device=device, limit=100_000)
    with database.transaction() as session:
        rows = store.list_events(session, flt)[-limit:]
        _print(rows)
        last = rows[-1].id if rows else 0
    while follow:
        time.sleep(1.0)
        with database.transaction() as session:
            rows = store.list_events(
                session,
                store.EventFilter(
                    order_id=order, request_id=request, device=device, after_id=last, limit=1000
                ),
            )
        if rows:
            _print(rows)
            last = rows[-1].id


def _print(rows: list[store.Event]) -> None:
    table = Table("id", "at", "type", "order", "request", "device", "message", box=None)
    for e in rows:
        table.add_row(
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.type,
            e.order_id or "",
            e.request_id or "",
            e.device or "",
            e.message,
        )
    console.print(table)
