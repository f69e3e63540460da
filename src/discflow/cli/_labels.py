"""``discflow labels``: render and print mailing labels of an order or an addresses file.

The commands only parse input and call ``discflow.labels`` (and, for orders,
the dispatcher's durable print queue, the same one finished requests use).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import typer

from discflow import store
from discflow.cli import app
from discflow.cli._common import open_database
from discflow.dispatcher import (
    dispatcher_settings,
    label_format,
    label_item,
    print_pending_holding_the_floor,
    printer_from_setting,
    reprint_order,
)
from discflow.domain import Address
from discflow.errors import DiscflowError
from discflow.labels import (
    SHEETS,
    CupsPrinter,
    LabelInputError,
    LabelItem,
    render_sheet,
    sheet_spec,
)
from discflow.settings import Settings
from discflow.store import Database, Principal, Role

labels_app = typer.Typer(help="Mailing labels: render to a file or print through CUPS.")
app.add_typer(labels_app, name="labels")

_FIELDS = ("name", "lines", "city", "region", "postal_code", "country")


def _address(raw: Any, where: str) -> Address:
    if not isinstance(raw, dict):
        raise LabelInputError(f"{where}.ship_to must be an object with {', '.join(_FIELDS)}")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise LabelInputError(f"{where}.ship_to has unknown keys {sorted(unknown)}")
    lines = raw.get("lines")
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise LabelInputError(f"{where}.ship_to.lines must be a list of strings")
    for key in ("name", "city", "country"):
        if not isinstance(raw.get(key), str):
            raise LabelInputError(f"{where}.ship_to.{key} must be a string")
    for key in ("postal_code", "region"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise LabelInputError(f"{where}.ship_to.{key} must be a string or null")
    try:
        return Address(
            name=raw["name"],
            lines=tuple(lines),
            city=raw["city"],
            postal_code=raw.get("postal_code") or "",
            country=raw["country"].upper(),
            region=raw.get("region"),
        )
    except DiscflowError as exc:
        raise LabelInputError(f"{where}: {exc}") from exc


def load_items(path: Path) -> list[LabelItem]:
    """Label items from a JSON list of {order_id, request_id, ship_to, title?, copies?}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabelInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise LabelInputError(f"{path} is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise LabelInputError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(data, list) or not data:
        raise LabelInputError(
            f"{path} must hold a non-empty JSON list of"
            " {order_id, request_id, ship_to: {name, lines, city, region, postal_code, country}}"
        )
    items: list[LabelItem] = []
    for i, entry in enumerate(data):
        where = f"{path.name}[{i}]"
        if not isinstance(entry, dict):
            raise LabelInputError(f"{where} must be an object")
        for key in ("order_id", "request_id"):
            if not isinstance(entry.get(key), str):
                raise LabelInputError(f"{where}.{key} is missing or not a string")
        try:
            items.append(
                LabelItem(
                    ship_to=_address(entry.get("ship_to"), where),
                    order_id=entry["order_id"],
                    request_id=entry["request_id"],
                    title=entry.get("title"),
                    copies=entry.get("copies"),
                )
            )
        except LabelInputError:
            raise
        except DiscflowError as exc:
            raise LabelInputError(f"{where}: {exc}") from exc
    return items


def order_items(database: Database, order_id: str) -> list[LabelItem]:
    admin = Principal(user_id=None, name="cli", role=Role.ADMIN)
    with database.transaction() as session:
        found = store.get_order(session, order_id, admin)
        return [label_item(found, r) for r in found.requests]


def _fail(exc: DiscflowError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2 if isinstance(exc, LabelInputError) else 1)


_SHEET_HELP = "Label stock: " + ", ".join(SHEETS)


@labels_app.command("render")
def render(
    addresses: Path | None = typer.Option(None, "--addresses", help="JSON list of label entries."),
    order: str | None = typer.Option(None, "--order", help="An order id: one label per request."),
    sheet: str = typer.Option("avery-5160", "--sheet", help=_SHEET_HELP),
    fmt: str = typer.Option("pdf", "--format", help="pdf, or zpl (4x6 only)."),
    out: Path = typer.Option(..., "--out", help="File to write."),
    sender_country: str = typer.Option("US", "--sender-country", help="Ship-from ISO code."),
) -> None:
    """Render mailing labels (of an order, or from a JSON file) to a PDF or ZPL file."""
    try:
        if (addresses is None) == (order is None):
            raise LabelInputError("give either --order ID or --addresses FILE")
        if order is not None:
            items = order_items(open_database(), order)
        else:
            assert addresses is not None
            items = load_items(addresses)
        data = render_sheet(items, sheet=sheet, fmt=fmt, sender_country=sender_country.upper())
        out.write_bytes(data)
    except DiscflowError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"wrote {out} ({len(data)} bytes)")


@labels_app.command("print")
def print_(
    addresses: Path | None = typer.Option(None, "--addresses", help="JSON list of label entries."),
    order: str | None = typer.Option(
        None, "--order", help="Re-print an order's labels on the configured label printer."
    ),
    printer: str = typer.Option("", "--printer", help="CUPS queue name (with --addresses)."),
    sheet: str = typer.Option("avery-5160", "--sheet", help=_SHEET_HELP),
    fmt: str = typer.Option("pdf", "--format", help="pdf, or zpl for a raw Zebra queue."),
    sender_country: str = typer.Option("US", "--sender-country", help="Ship-from ISO code."),
) -> None:
    """Print mailing labels on a CUPS queue and show the job id."""
    if order is not None:
        settings = Settings()
        database = open_database(settings)
        target = printer_from_setting(printer or settings.label_printer, data_dir=settings.data_dir)
        try:
            count = reprint_order(
                database, order, printer=target.name, sheet=settings.label_sheet, actor="cli"
            )
            printed = asyncio.run(
                print_pending_holding_the_floor(
                    database,
                    target,
                    owner=f"cli-{os.getpid()}",
                    ttl_s=dispatcher_settings(settings).lease_s,
                    fmt=label_format(settings.label_format),
                )
            )
        except DiscflowError as exc:
            raise _fail(exc) from exc
        typer.echo(f"{printed} of {count} label(s) of {order} printed on {target.name}")
        if printed < count:
            typer.echo(
                "the rest stay queued: a running dispatcher holds the floor and prints them"
                " in its next round (or they failed: see `discflow events`)"
            )
            raise typer.Exit(code=1)
        return
    if addresses is None or not printer:
        raise _fail(LabelInputError("give --order ID, or --addresses FILE with --printer QUEUE"))
    try:
        items = load_items(addresses)
        data = render_sheet(items, sheet=sheet, fmt=fmt, sender_country=sender_country.upper())
        job = CupsPrinter(printer).submit(
            data,
            name=f"discflow-labels-{items[0].order_id}",
            fmt="zpl" if fmt == "zpl" else "pdf",
            media=sheet_spec(sheet).cups_media,
        )
    except DiscflowError as exc:
        raise _fail(exc) from exc
    typer.echo(f"printed {len(items)} label(s) on {printer}: job {job.job_id}")
