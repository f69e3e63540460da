from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.errors import InvalidInput
from discflow.store import Database, OrderLine, Principal, Role
from discflow.web.schemas import AddressIn, HoldRequest

order_app = typer.Typer(help="Orders.", no_args_is_help=True)
app.add_typer(order_app, name="order")


def _read_address(path: Path) -> AddressIn:
    try:
        return AddressIn.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as error:
        raise InvalidInput(f"cannot read the address file {path}: {error}") from error
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidInput(f"address file {path}: {problems}") from error


@order_app.command("create")
def create(
    content: list[str] = typer.Option(..., help="content id; repeat for several requests"),
    media: list[str] = typer.Option(..., help="media type per --content, e.g. CD-R"),
    copies: list[int] = typer.Option(..., help="copies per --content"),
    ship_to: Path = typer.Option(
        ..., help="JSON file: {name, lines, city, region, postal_code, country}"
    ),
    user: str = typer.Option(..., help="the customer the order is for (created if new)"),
) -> None:
    """Place an order; the order id is printed on the last line."""
    if not len(content) == len(media) == len(copies):
        raise InvalidInput("give --content, --media and --copies the same number of times")
    address = _read_address(ship_to).to_domain()
    with open_database().transaction() as session:
        account = store.ensure_user(session, user, role=Role.CUSTOMER)
        principal = Principal(user_id=account.id, name=account.name, role=Role(account.role))
        placed = store.place_order(
            session,
            principal,
            [OrderLine(c, m, n) for c, m, n in zip(content, media, copies, strict=True)],
            address,
            source="cli",
        )
        _show(placed.order)
        typer.echo(placed.order.id)


def _show(order: store.Order) -> None:
    console.print(f"order {order.id}: {store.order_state(order)}", highlight=False)
    table = Table("request", "content", "media", "copies", "good", "failed", "state", "reason")
    for r in order.requests:
        table.add_row(
            r.id,
            r.content_id,
            r.media,
            str(r.copies),
            str(r.good_copies),
            str(r.failed_copies),
            r.state,
            r.reason,
        )
    console.print(table)


@order_app.command("show")
def show(
    order_id: str,
    follow: bool = typer.Option(False, "--follow", "-f", help="live progress until it is done"),
    poll_s: float = typer.Option(1.0, min=0.1, help="seconds between updates with --follow"),
) -> None:
    """An order and the state of each request (with --follow, a progress bar per request)."""
    admin = Principal(user_id=None, name="cli", role=Role.ADMIN)
    database = open_database()
    with database.transaction() as session:
        order = store.get_order(session, order_id, admin)
        if not follow:
            _show(order)
            return
    _follow(database, order_id, admin, poll_s)


@order_app.command("hold")
def hold(
    order_id: str,
    reason: str = typer.Option("", help="why (shown on the order page and in its log)"),
) -> None:
    """Keep the order's queued requests out of planning until `order release`."""
    try:
        why = HoldRequest(reason=reason).reason
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"], param_hint="--reason") from None
    admin = Principal(user_id=None, name="cli", role=Role.ADMIN)
    with open_database().transaction() as session:
        order = store.hold_order(session, order_id, admin, why=why)
        console.print(f"order {order.id}: {store.order_state(order)}")


@order_app.command("release")
def release(order_id: str) -> None:
    """Put the order's held requests back in the queue."""
    admin = Principal(user_id=None, name="cli", role=Role.ADMIN)
    with open_database().transaction() as session:
        order = store.release_order(session, order_id, admin)
        console.print(f"order {order.id}: {store.order_state(order)}")


def _follow(database: Database, order_id: str, admin: Principal, poll_s: float) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {}
        while True:
            with database.transaction() as session:
                order = store.get_order(session, order_id, admin)
                for r in order.requests:
                    if r.id not in tasks:
                        tasks[r.id] = progress.add_task(
                            f"{r.id} {r.media}", total=r.copies, state=r.state
                        )
                    progress.update(
                        tasks[r.id],
                        completed=r.good_copies,
                        state=r.state + (f" ({r.reason})" if r.reason else ""),
                    )
                state = store.order_state(order)
            if state in ("done", "failed", "cancelled"):
                break
            time.sleep(poll_s)
    console.print(f"order {order_id}: {state}")
    if state != "done":
        raise typer.Exit(1)
