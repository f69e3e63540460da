"""Each module of the server answers its own mail commands (claim 10).

Order intake answers ORDER, STATUS and CANCEL; the archive's catalog answers
CATALOG; the scheduler's device records answer DEVICES, LOADED, PAUSE and
RESUME; the task log answers LOG. ``MODULES`` is that table, and ``execute``
only routes a parsed command to the module that owns it.

Invariants:
- A command runs with the rights of the user who sent it (the same
  ``Principal`` the API would build), through the same store functions the API
  calls, so a mail can do exactly what that user could do over HTTP, no more.
- A refused command (no right, unknown order, unreachable device) becomes an
  answer that says why and how to fix it; it never stops the other commands.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from discflow import store
from discflow.dispatcher import record_media_loaded, set_paused
from discflow.domain import describe_size
from discflow.errors import DiscflowError, NotFound, PermissionDenied
from discflow.mail._grammar import (
    OPERATOR_VERBS,
    Cancel,
    Catalog,
    Command,
    Devices,
    Help,
    Loaded,
    Log,
    Order,
    Pause,
    Resume,
    Status,
    help_text,
)
from discflow.store import Content, Database, EventFilter, OrderLine, Principal, Role

MODULES: dict[str, str] = {
    "ORDER": "order intake",
    "STATUS": "order intake",
    "CANCEL": "order intake",
    "CATALOG": "archive catalog",
    "DEVICES": "scheduler / devices",
    "LOADED": "scheduler / devices",
    "PAUSE": "scheduler / devices",
    "RESUME": "scheduler / devices",
    "LOG": "task log",
    "HELP": "mail",
}


@dataclass(frozen=True, slots=True)
class Answer:
    command: str  # the line as the sender wrote it
    text: str
    ok: bool
    order_id: str | None = None  # set when the command placed or touched an order


def format_address(ship_to: dict[str, Any]) -> str:
    """An order's stored ship-to address on one line."""
    parts = [str(ship_to.get("name") or ""), *(str(x) for x in ship_to.get("lines") or [])]
    parts += [str(ship_to.get(k) or "") for k in ("city", "region", "postal_code", "country")]
    return ", ".join(p for p in parts if p)


def _content_for(session: Session, target: str) -> Content:
    content = session.get(Content, target) or store.find_by_title(session, target)
    if content is None:
        raise NotFound(
            f"no content with id or exact title {target!r}; find it with CATALOG <words>"
        )
    return content


def _describe_order(order: store.Order) -> list[str]:
    lines = [f"Order {order.id}: {store.order_state(order)}"]
    for r in order.requests:
        done = f", {r.good_copies} good" if r.good_copies else ""
        failed = f", {r.failed_copies} failed" if r.failed_copies else ""
        reason = f" ({r.reason})" if r.reason else ""
        lines.append(
            f"  {r.id}: {r.copies} x {r.media} of {r.content.title!r} ({r.content_id})"
            f" - {r.state}{done}{failed}{reason}"
        )
    lines.append(f"Ship to: {format_address(order.ship_to)}")
    return lines


# -- order intake ---------------------------------------------------------------


def _order(session: Session, who: Principal, command: Order) -> Answer:
    lines = [
        OrderLine(_content_for(session, item.target).id, item.media, item.copies)
        for item in command.items
    ]
    placed = store.place_order(session, who, lines, command.ship_to, source="mail")
    session.flush()
    text = [f"Thank you: order {placed.order.id} is placed.", *_describe_order(placed.order)]
    text.append(f"Ask for news with: STATUS {placed.order.id}")
    return Answer(command.source, "\n".join(text), ok=True, order_id=placed.order.id)


def _status(session: Session, who: Principal, command: Status) -> Answer:
    order = store.get_order(session, command.order_id, who)
    return Answer(command.source, "\n".join(_describe_order(order)), True, order.id)


def _cancel(session: Session, who: Principal, command: Cancel) -> Answer:
    order = store.cancel_order(session, command.order_id, who)
    text = [f"Cancelled what had not finished of order {order.id}.", *_describe_order(order)]
    return Answer(command.source, "\n".join(text), True, order.id)


# -- archive catalog --------------------------------------------------------------


def _catalog(session: Session, who: Principal, command: Catalog) -> Answer:
    found = store.search_contents(session, command.words, limit=20)
    if not found:
        return Answer(command.source, f"Nothing in the catalog matches {command.words!r}.", True)
    lines = [f"{len(found)} match(es); order with: ORDER <id> <media> x<copies>"]
    for content in found:
        fits = ", ".join(m.name for m in store.fitting_media(content)) or "no disc (too large)"
        lines.append(
            f"  {content.id}  {content.title}  ({describe_size(content.size_bytes)}; fits {fits})"
        )
    return Answer(command.source, "\n".join(lines), True)


# -- task log -------------------------------------------------------------------


def _log(session: Session, who: Principal, command: Log) -> Answer:
    order = store.get_order(session, command.order_id, who)  # refuses another customer's order
    events = store.list_events(session, EventFilter(order_id=order.id, limit=200))
    lines = [f"Task log of order {order.id} ({len(events)} event(s), oldest first):"]
    for event in events:
        when = event.at.strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"  {when} UTC  {event.type}  {event.message}")
    return Answer(command.source, "\n".join(lines), True, order.id)


# -- scheduler / devices --------------------------------------------------------


def _devices(session: Session, who: Principal, command: Devices) -> Answer:
    devices = store.list_devices(session)
    if not devices:
        return Answer(command.source, "No devices are registered.", True)
    lines = []
    for device in devices:
        media = ", ".join(f"{m.loaded} {m.media}" for m in device.media) or "no media"
        state = "paused" if device.paused else device.availability
        if state == "paused" and not device.paused:
            state = "resuming (at its next heartbeat)"
        lines.append(f"  {device.name} ({device.driver}): {state}; blanks loaded: {media}")
    return Answer(command.source, "Devices:\n" + "\n".join(lines), True)


async def _loaded(database: Database, who: Principal, command: Loaded) -> Answer:
    loaded = await record_media_loaded(
        database, device=command.device, media=command.media, count=command.count, actor=who.name
    )
    return Answer(
        command.source,
        f"Recorded: {command.count} {command.media} loaded into {command.device}; "
        f"{loaded} {command.media} blanks there now.",
        True,
    )


async def _pause(database: Database, who: Principal, command: Pause | Resume) -> Answer:
    paused = isinstance(command, Pause)
    await asyncio.to_thread(
        set_paused, database, device=command.device, paused=paused, actor=who.name
    )
    word = "paused: running jobs finish, no new work is sent" if paused else "resumed"
    return Answer(command.source, f"{command.device} {word}.", True)


def _in_session(session: Session, who: Principal, command: Command) -> Answer:
    if isinstance(command, Order):
        return _order(session, who, command)
    if isinstance(command, Status):
        return _status(session, who, command)
    if isinstance(command, Cancel):
        return _cancel(session, who, command)
    if isinstance(command, Catalog):
        return _catalog(session, who, command)
    if isinstance(command, Log):
        return _log(session, who, command)
    assert isinstance(command, Devices)
    return _devices(session, who, command)


async def execute(database: Database, who: Principal, command: Command) -> Answer:
    """Run one command as ``who``; refusals come back as answers, not exceptions."""
    try:
        if isinstance(command, Help):
            return Answer(command.source, help_text(), True)
        if command.verb in OPERATOR_VERBS and (
            who.role is None or not who.role.at_least(Role.OPERATOR)
        ):
            raise PermissionDenied(
                f"{command.verb} is an operator command; {who.name} is not an operator"
            )
        if isinstance(command, Loaded):
            return await _loaded(database, who, command)
        if isinstance(command, Pause | Resume):
            return await _pause(database, who, command)

        def run() -> Answer:
            with database.transaction() as session:
                return _in_session(session, who, command)

        return await asyncio.to_thread(run)
    except DiscflowError as error:
        return Answer(command.source, f"Refused: {error}", False)
