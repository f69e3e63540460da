"""Mailing labels for finished requests (claim 7): queue durably, then print.

Invariants:
- A ``print_jobs`` row is created in the same transaction that moves a request
  to done, so a crash can delay a label but never lose it.
- A row becomes ``printed`` only after the printer accepted the document, and
  each outcome is an event in the task log; a row that keeps failing raises a
  ``print-failed`` notice and waits for a re-print.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow import store
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
from discflow.store import Database, Order, PrintJob, Request
from discflow.store._types import utcnow

log = logging.getLogger("discflow.labels")

MAX_PRINT_ATTEMPTS = 3


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


def queue_label(session: Session, request: Request, *, printer: str, sheet: str) -> PrintJob:
    job = PrintJob(
        order_id=request.order_id,
        request_id=request.id,
        printer=printer,
        sheet=sheet,
        state="pending",
    )
    session.add(job)
    return job


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


def render_order_labels(
    database: Database, order_id: str, *, sheet: str, fmt: LabelFormat
) -> bytes:
    """One label per request of an order, as a sheet (for the CLI and re-prints)."""
    admin = store.Principal(user_id=None, name="labels", role=store.Role.ADMIN)
    with database.transaction() as session:
        order = store.get_order(session, order_id, admin)
        items = [label_item(order, r) for r in order.requests]
    return render_sheet(items, sheet=sheet, fmt=fmt)


def reprint_order(
    database: Database, order_id: str, *, printer: str, sheet: str, actor: str
) -> int:
    """Queue a new label for every request of the order; returns how many."""
    admin = store.Principal(user_id=None, name=actor, role=store.Role.ADMIN)
    with database.transaction() as session:
        order = store.get_order(session, order_id, admin)
        for request in order.requests:
            queue_label(session, request, printer=printer, sheet=sheet)
        store.record(
            session, "label.requeued", f"re-print asked by {actor}", order_id=order.id, actor=actor
        )
        return len(order.requests)


async def print_pending(
    database: Database, printer: Printer, *, fmt: LabelFormat = "pdf", batch: bool = False
) -> int:
    """Print every pending label once (one document each, or one sheet per label stock
    with ``batch``); returns how many labels were printed."""
    with database.transaction() as session:
        rows = list(
            session.scalars(
                select(PrintJob).where(PrintJob.state == "pending").order_by(PrintJob.id)
            )
        )
        groups: dict[str, list[int]] = {}
        for row in rows:
            groups.setdefault(row.sheet if batch else str(row.id), []).append(row.id)
    printed = 0
    for ids in groups.values():
        printed += await _print_group(database, printer, ids, fmt=fmt)
    return printed


async def _print_group(
    database: Database, printer: Printer, ids: list[int], *, fmt: LabelFormat
) -> int:
    items: list[LabelItem] = []
    live: list[int] = []
    with database.transaction() as session:
        for job_id in ids:
            job = session.get(PrintJob, job_id)
            if job is None or job.state != "pending":
                continue
            request = session.get(Request, job.request_id) if job.request_id else None
            if request is None:
                job.state = "failed"
                job.error = "the request no longer exists"
                continue
            items.append(label_item(request.order, request))
            live.append(job_id)
            sheet = job.sheet
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
        for job_id in live:
            _failed(database, job_id, str(error), printer.name)
        return 0
    with database.transaction() as session:
        for job_id in live:
            job = session.get(PrintJob, job_id)
            assert job is not None
            job.state = "printed"
            job.attempts += 1
            job.backend_job = result.job_id
            job.printed_at = utcnow()
            store.record(
                session,
                "label.printed",
                f"mailing label printed on {printer.name} (job {result.job_id})",
                order_id=job.order_id,
                request_id=job.request_id,
                data={"printer": printer.name, "job": result.job_id},
            )
        store.clear_notices(session, kinds=("print-failed",), why="labels print again")
    return len(live)


def _failed(database: Database, job_id: int, error: str, printer: str) -> None:
    log.warning("label %s failed on %s: %s", job_id, printer, error)
    with database.transaction() as session:
        job = session.get(PrintJob, job_id)
        assert job is not None
        job.attempts += 1
        job.error = error
        store.record(
            session,
            "label.failed",
            error,
            order_id=job.order_id,
            request_id=job.request_id,
            data={"printer": printer},
        )
        if job.attempts >= MAX_PRINT_ATTEMPTS:
            job.state = "failed"
            store.raise_notice(
                session,
                "print-failed",
                f"Mailing label for {job.request_id} did not print on {printer}: {error}. "
                f"Fix the printer, then re-print with 'discflow labels print --order "
                f"{job.order_id}'",
                severity="error",
                data={"order_id": job.order_id, "request_id": job.request_id},
            )
