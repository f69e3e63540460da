"""Mailing labels for finished requests (claim 7): render and print the queue.

Invariants:
- The queue itself is the store's (``store.queue_label`` and friends: queued with
  the request's move to done, marked printed only after the printer accepted the
  document); this module only renders and hands documents over, outside any
  transaction.
- A dispatcher prints only while it holds the floor's lease: ``fence`` renews it in
  the transaction that reads each group's pending labels, so one whose round
  outlasted its lease (another dispatcher took the floor meanwhile) prints nothing
  more, and the holder's lease outlasts the hand-over of the group it read. Without
  it, both printed the same labels (a paper label twice, seen with 4 dispatchers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from discflow import store
from discflow.dispatcher._sites import FLOOR_LEASE
from discflow.domain import Address
from discflow.errors import DiscflowError, InvalidInput
from discflow.labels import (
    CupsPrinter,
    FolderPrinter,
    LabelFormat,
    LabelItem,
    Printer,
    render_sheet,
    sheet_spec,
)
from discflow.store import Database, Order, Request

log = logging.getLogger("discflow.labels")


def printer_from_setting(setting: str, *, data_dir: Path) -> Printer:
    """``folder:PATH``, ``cups:QUEUE`` or a bare CUPS queue name; empty means a folder."""
    if not setting:
        return FolderPrinter(data_dir / "labels", once_per_name=True)
    kind, _, value = setting.partition(":")
    if kind == "folder" and value:
        return FolderPrinter(Path(value), once_per_name=True)
    if kind == "cups" and value:
        return CupsPrinter(value)
    if ":" not in setting:
        return CupsPrinter(setting)
    raise InvalidInput(f"label printer {setting!r}: use folder:PATH, cups:QUEUE or a queue name")


def label_format(value: str) -> LabelFormat:
    if value == "pdf":
        return "pdf"
    if value == "zpl":
        return "zpl"
    raise InvalidInput(f"label format {value!r}: use pdf or zpl")


def label_item(order: Order, request: Request) -> LabelItem:
    shipped = request.good_copies if request.state == "cancelled" else request.copies
    ship = order.ship_to
    address = Address(
        name=ship["name"],
        lines=tuple(ship["lines"]),
        city=ship["city"],
        postal_code=ship.get("postal_code", ""),
        country=ship["country"],
        region=ship.get("region"),
    )
    return LabelItem(
        ship_to=address,
        order_id=order.id,
        request_id=request.id,
        title=f"{request.content.title[:100]} ({request.media})",
        # a cancelled request ships what was made: the label counts those discs
        copies=f"{shipped} disc{'s' if shipped > 1 else ''}",
    )


def reprint_order(
    database: Database, order_id: str, *, printer: str, sheet: str, actor: str
) -> int:
    """Queue a new label for every request of the order; returns how many."""
    with database.transaction() as session:
        return store.reprint_order(session, order_id, printer=printer, sheet=sheet, actor=actor)


Fence = Callable[[Session], bool]
"""Whether this printer of the queue may still print (may renew a lease in ``session``)."""


def _unfenced(session: Session) -> bool:
    return True


async def print_pending(
    database: Database,
    printer: Printer,
    *,
    fmt: LabelFormat = "pdf",
    batch: bool = False,
    fence: Fence = _unfenced,
) -> int:
    """Print every pending label once (one document each, or one sheet per label stock
    with ``batch``); returns how many labels were printed."""
    with database.transaction() as session:
        groups: dict[str, list[int]] = {}
        for row, _ in store.pending_labels(session):
            groups.setdefault(row.sheet if batch else str(row.id), []).append(row.id)
    printed = 0
    for ids in groups.values():
        printed += await _print_group(database, printer, ids, fmt=fmt, fence=fence)
    return printed


async def print_pending_holding_the_floor(
    database: Database, printer: Printer, *, owner: str, ttl_s: float, fmt: LabelFormat = "pdf"
) -> int:
    """``print_pending`` from outside a dispatcher (the CLI): the floor's lease is taken
    in the transaction that reads each batch, as a dispatcher's round does, so the two
    never print one label twice; while a dispatcher holds the floor nothing is printed
    here (its next round prints them). The lease is let go at the end."""

    def holds_the_floor(session: Session) -> bool:
        return store.acquire_lease(session, FLOOR_LEASE, owner=owner, ttl_s=ttl_s)

    try:
        return await print_pending(database, printer, fmt=fmt, fence=holds_the_floor)
    finally:
        with database.transaction() as session:
            store.release_lease(session, FLOOR_LEASE, owner=owner)


async def _print_group(
    database: Database, printer: Printer, ids: list[int], *, fmt: LabelFormat, fence: Fence
) -> int:
    with database.transaction() as session:
        if not fence(session):
            return 0  # another dispatcher holds the floor now: its round prints them
        found = store.pending_labels(session, ids)
        items = [label_item(request.order, request) for _, request in found]
        live = [job.id for job, _ in found]
        sheet = found[0][0].sheet if found else ""
    if not live:
        return 0
    first = items[0]
    name = (
        f"{first.order_id}-{first.request_id}-L{live[0]}"
        if len(live) == 1
        else f"labels-L{live[0]}-L{live[-1]}"
    )
    try:
        document = render_sheet(items, sheet=sheet, fmt=fmt)
        result = await asyncio.to_thread(
            printer.submit, document, name=name, fmt=fmt, media=sheet_spec(sheet).cups_media
        )
    except DiscflowError as error:
        log.warning("labels %s failed on %s: %s", live, printer.name, error)
        with database.transaction() as session:
            for job_id in live:
                store.label_print_failed(session, job_id, printer=printer.name, error=str(error))
        return 0
    with database.transaction() as session:
        for job_id in live:
            store.label_printed(session, job_id, printer=printer.name, backend_job=result.job_id)
    return len(live)
