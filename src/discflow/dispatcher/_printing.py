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


def _fit_printer(name: str) -> str:
    """The printer column holds 64 characters (PostgreSQL enforces it); a ``folder:``
    printer's name is a path of any length: keep its end, the part that tells folders apart."""
    limit = int(getattr(PrintJob.__table__.c.printer.type, "length", None) or 64)
    return name if len(name) <= limit else "..." + name[-(limit - 3) :]


def queue_label(session: Session, request: Request, *, printer: str, sheet: str) -> PrintJob:
    job = PrintJob(
        order_id=request.order_id,
        request_id=request.id,
        printer=_fit_printer(printer),
        sheet=sheet,
        state="pending",
    )
    session.add(job)
    return job


def label_item(order: Order, request: Request) -> LabelItem:
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
        copies=f"{request.copies} disc{'s' if request.copies > 1 else ''}",
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


async def print_pending(database: Database, printer: Printer, *, fmt: LabelFormat = "pdf") -> int:
    """Print every pending label once; returns how many were printed."""
    with database.transaction() as session:
        pending = [
            p.id
            for p in session.scalars(
                select(PrintJob).where(PrintJob.state == "pending").order_by(PrintJob.id)
            )
        ]
    printed = 0
    for job_id in pending:
        with database.transaction() as session:
            job = session.get(PrintJob, job_id)
            if job is None or job.state != "pending":
                continue
            request = session.get(Request, job.request_id) if job.request_id else None
            if request is None:
                job.state = "failed"
                job.error = "the request no longer exists"
                continue
            item = label_item(request.order, request)
            sheet = job.sheet
        try:
            document = render_sheet([item], sheet=sheet, fmt=fmt)
            media = sheet_spec(sheet).cups_media
            result = await asyncio.to_thread(
                printer.submit,
                document,
                name=f"{item.order_id}-{item.request_id}-L{job_id}",
                fmt=fmt,
                media=media,
            )
        except DiscflowError as error:
            _failed(database, job_id, str(error), printer.name)
            continue
        with database.transaction() as session:
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
        printed += 1
    return printed


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
