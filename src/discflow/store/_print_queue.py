"""The mailing-label print queue (claim 7): labels queued durably, then printed.

Invariants:
- A ``print_jobs`` row is created in the same transaction that moves a request
  to done (``queue_label`` from ``settle``), so a crash can delay a label but
  never lose it.
- A row leaves ``pending`` only through ``PRINT_LIFECYCLE``: ``printed`` once
  the printer accepted the document, ``failed`` after ``MAX_PRINT_ATTEMPTS``;
  each outcome is an event, and a failed row raises a ``print-failed`` notice.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow.domain import PRINT_LIFECYCLE, PrintState
from discflow.store._auth import Principal, Role
from discflow.store._events import record
from discflow.store._notices import clear_notices, raise_notice
from discflow.store._orders import get_order
from discflow.store._tables import PrintJob, Request
from discflow.store._types import utcnow

__all__ = [
    "MAX_PRINT_ATTEMPTS",
    "label_printed",
    "label_print_failed",
    "pending_labels",
    "queue_label",
    "reprint_order",
]

MAX_PRINT_ATTEMPTS = 3


def _move(job: PrintJob, target: PrintState) -> None:
    job.state = PRINT_LIFECYCLE.check(PrintState(job.state), target, subject=str(job.id))


def queue_label(session: Session, request: Request, *, printer: str, sheet: str) -> PrintJob:
    job = PrintJob(
        order_id=request.order_id,
        request_id=request.id,
        printer=printer,
        sheet=sheet,
        state=PrintState.PENDING,
    )
    session.add(job)
    return job


def reprint_order(session: Session, order_id: str, *, printer: str, sheet: str, actor: str) -> int:
    """Queue a new label for every request of the order; returns how many."""
    admin = Principal(user_id=None, name=actor, role=Role.ADMIN)
    order = get_order(session, order_id, admin)
    for request in order.requests:
        queue_label(session, request, printer=printer, sheet=sheet)
    record(session, "label.requeued", f"re-print asked by {actor}", order_id=order.id, actor=actor)
    return len(order.requests)


def pending_labels(
    session: Session, ids: list[int] | None = None
) -> list[tuple[PrintJob, Request]]:
    """Pending labels (all, or those of ``ids``) with their requests, oldest first.

    A label whose request is gone cannot be printed: it fails here."""
    query = select(PrintJob).where(PrintJob.state == PrintState.PENDING).order_by(PrintJob.id)
    if ids is not None:
        query = query.where(PrintJob.id.in_(ids))
    found = []
    for job in session.scalars(query):
        request = session.get(Request, job.request_id) if job.request_id else None
        if request is None:
            _move(job, PrintState.FAILED)
            job.error = "the request no longer exists"
            continue
        found.append((job, request))
    return found


def label_printed(session: Session, job_id: int, *, printer: str, backend_job: str) -> None:
    job = session.get(PrintJob, job_id)
    assert job is not None
    _move(job, PrintState.PRINTED)
    job.attempts += 1
    job.backend_job = backend_job
    job.printed_at = utcnow()
    record(
        session,
        "label.printed",
        f"mailing label printed on {printer} (job {backend_job})",
        order_id=job.order_id,
        request_id=job.request_id,
        data={"printer": printer, "job": backend_job},
    )
    clear_notices(session, kinds=("print-failed",), why="labels print again")


def label_print_failed(session: Session, job_id: int, *, printer: str, error: str) -> None:
    job = session.get(PrintJob, job_id)
    assert job is not None
    job.attempts += 1
    job.error = error
    record(
        session,
        "label.failed",
        error,
        order_id=job.order_id,
        request_id=job.request_id,
        data={"printer": printer},
    )
    if job.attempts >= MAX_PRINT_ATTEMPTS:
        _move(job, PrintState.FAILED)
        raise_notice(
            session,
            "print-failed",
            f"Mailing label for {job.request_id} did not print on {printer}: {error}. "
            f"Fix the printer, then re-print with 'discflow labels print --order "
            f"{job.order_id}'",
            severity="error",
            data={"order_id": job.order_id, "request_id": job.request_id},
        )
