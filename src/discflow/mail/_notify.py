"""Mail the people concerned about what the task log says happened.

``request.done`` tells the customer the discs have shipped; ``order.received``
for an order placed on the web or API confirms it (a mail order is confirmed
by the reply to it); ``notice.*`` tells every operator what to do ("Load 100
CD-R into pub-2").

Invariants:
- The cursor (``mail_cursors``) and the mails for the events up to it are
  written in one transaction, so each event is mailed once, even across
  restarts and crashes.
- A new installation starts at the end of the log: history is not mailed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from discflow import store
from discflow.coordinator import Coordinator
from discflow.mail._commands import format_address
from discflow.mail._outbox import enqueue
from discflow.mail._tables import MailCursor
from discflow.store import Database, Event, EventFilter, Role, User

log = logging.getLogger(__name__)

CURSOR = "notifier"

_ADVICE: dict[str, str] = {
    "media-low": (
        "When the blanks are in, tell discflow: LOADED {device} {media} <count>\n"
        "(a mail with your TOKEN line, the operator page, or the API)."
    ),
    "media-out": (
        "Work for {media} on {device} waits until blanks are loaded. When they are in:\n"
        "LOADED {device} {media} <count>"
    ),
    "device-offline": (
        "Check the device's power, network and its agent ('discflow agent'). It comes back\n"
        "by itself when its heartbeat returns; PAUSE {device} keeps new work away meanwhile."
    ),
    "job-failed": (
        "Look at {device} (drive, blanks, error light). The failed copies are planned again;\n"
        "send LOG <order id> for the order's history."
    ),
}


def start_cursor(database: Database) -> int:
    """The cursor's position, set to the end of the log when there was none."""
    with database.transaction() as session:
        cursor = session.get(MailCursor, CURSOR)
        if cursor is None:
            last = session.scalar(select(func.max(Event.id))) or 0
            cursor = MailCursor(name=CURSOR, last_event_id=int(last))
            session.add(cursor)
        return cursor.last_event_id


def _operators(session: Session) -> list[str]:
    ranks = [Role.OPERATOR.value, Role.ADMIN.value]
    return [
        u.email
        for u in session.scalars(select(User).where(User.role.in_(ranks), User.email.is_not(None)))
        if u.email
    ]


def _notice_mail(session: Session, event: Event) -> int:
    kind = event.type.removeprefix("notice.")
    if kind in ("cleared", "acknowledged"):
        return 0
    media = str((event.data or {}).get("media") or "<media>")
    device = event.device or "<device>"
    advice = _ADVICE.get(kind, "").format(device=device, media=media)
    body = f"{event.message}\n\n{advice}\n" if advice else f"{event.message}\n"
    subject = f"[discflow] {kind.replace('-', ' ')}: {event.message}"
    operators = _operators(session)
    for address in operators:
        enqueue(session, to=address, subject=subject, body=body, kind="notice")
    return len(operators)


def _owner(session: Session, order_id: str | None) -> tuple[store.Order, User] | None:
    order = session.get(store.Order, order_id) if order_id else None
    if order is None or order.user is None or not order.user.email:
        return None
    return order, order.user


def _shipped_mail(session: Session, event: Event) -> int:
    found = _owner(session, event.order_id)
    request = session.get(store.Request, event.request_id) if event.request_id else None
    if found is None or request is None:
        return 0
    order, user = found
    body = (
        f"Hello {user.name},\n\n"
        f"your discs have shipped: {request.good_copies or request.copies} x {request.media} of\n"
        f"{request.content.title!r}, written and verified.\n\n"
        f"Ship to: {format_address(order.ship_to)}\n"
        f"Label: order {order.id}, request {request.id} (printed as text and barcode on the\n"
        f"label; quote it when you ask about the parcel).\n\n"
        f"Send 'STATUS {order.id}' for the whole order.\n"
    )
    enqueue(
        session,
        to=user.email or "",
        subject=f"Your discs have shipped: {order.id} / {request.id}",
        body=body,
        kind="shipped",
    )
    return 1


def _confirmation_mail(session: Session, event: Event) -> int:
    found = _owner(session, event.order_id)
    if found is None or found[0].source == "mail":
        return 0  # a mail order was confirmed by the reply to it
    order, user = found
    lines = [f"  {r.id}: {r.copies} x {r.media} of {r.content.title!r}" for r in order.requests]
    body = (
        f"Hello {user.name},\n\nwe received your order {order.id}:\n"
        + "\n".join(lines)
        + f"\n\nShip to: {format_address(order.ship_to)}\n"
        f"Send 'STATUS {order.id}' (with your TOKEN line) for news.\n"
    )
    enqueue(
        session,
        to=user.email or "",
        subject=f"Order {order.id} received",
        body=body,
        kind="confirmation",
    )
    return 1


_MAILERS: dict[str, Callable[[Session, Event], int]] = {
    "request.done": _shipped_mail,
    "order.received": _confirmation_mail,
}


def notify_once(database: Database, *, batch: int = 200) -> int:
    """Queue the mails for the events after the cursor; returns how many were queued."""
    with database.transaction() as session:
        cursor = session.get(MailCursor, CURSOR, with_for_update=True)
        if cursor is None:
            cursor = MailCursor(name=CURSOR, last_event_id=0)
            session.add(cursor)
        events = store.list_events(session, EventFilter(after_id=cursor.last_event_id, limit=batch))
        queued = 0
        for event in events:
            if event.type.startswith("notice."):
                queued += _notice_mail(session, event)
            elif event.type in _MAILERS:
                queued += _MAILERS[event.type](session, event)
        if events:
            cursor.last_event_id = events[-1].id
        return queued


class Notifier:
    """Follows the task log and queues mails; ``on_queued`` wakes the outbox sender."""

    def __init__(
        self,
        database: Database,
        *,
        poll_s: float = 1.0,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.poll_s = poll_s
        self.on_queued = on_queued

    async def step(self) -> None:
        if await asyncio.to_thread(notify_once, self.database) and self.on_queued:
            self.on_queued()

    async def run(self, stop: asyncio.Event) -> None:
        # a database hiccup must not end notifications; the cursor holds, the pace stays
        loop = Coordinator(
            "notifier", self.step, interval=self.poll_s, max_backoff=self.poll_s, logger=log
        )
        await loop.run(stop)
