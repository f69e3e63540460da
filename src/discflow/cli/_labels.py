"""``discflow labels``: render and print mailing labels from an addresses file.

The commands only parse input and call ``discflow.labels``; the rendering and
printing API stays independent of the CLI so other callers (the dispatcher, the
web UI, a future ``--order ID`` reading from the store) use the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from discflow.cli import app
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


def _fail(exc: DiscflowError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2 if isinstance(exc, LabelInputError) else 1)


_SHEET_HELP = "Label stock: " + ", ".join(SHEETS)


@labels_app.command("render")
def render(
    addresses: Path = typer.Option(..., "--addresses", help="JSON list of label entries."),
    sheet: str = typer.Option("avery-5160", "--sheet", help=_SHEET_HELP),
    fmt: str = typer.Option("pdf", "--format", help="pdf, or zpl (4x6 only)."),
    out: Path = typer.Option(..., "--out", help="File to write."),
    sender_country: str = typer.Option("US", "--sender-country", help="Ship-from ISO code."),
) -> None:
    """Render mailing labels to a PDF or ZPL file."""
    try:
        data = render_sheet(
            load_items(addresses), sheet=sheet, fmt=fmt, sender_country=sender_country.upper()
        )
        out.write_bytes(data)
    except DiscflowError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"wrote {out} ({len(data)} bytes)")


@labels_app.command("print")
def print_(
    addresses: Path = typer.Option(..., "--addresses", help="JSON list of label entries."),
    printer: str = typer.Option(..., "--printer", help="CUPS queue name."),
    sheet: str = typer.Option("avery-5160", "--sheet", help=_SHEET_HELP),
    fmt: str = typer.Option("pdf", "--format", help="pdf, or zpl for a raw Zebra queue."),
    sender_country: str = typer.Option("US", "--sender-country", help="Ship-from ISO code."),
) -> None:
    """Print mailing labels on a CUPS queue and show the job id."""
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
