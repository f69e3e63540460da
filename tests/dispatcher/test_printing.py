"""Mailing labels for finished requests: queued durably, printed once, failures noticed."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from discflow import store
from discflow.dispatcher import print_pending, print_pending_holding_the_floor, reprint_order
from discflow.domain import Address, RequestState
from discflow.labels import FolderPrinter
from discflow.store import Database, OrderLine, PrintJob, Role, queue_label
from tests.utils.factories import make_content


def _done_order(database: Database, requests: int = 3) -> tuple[str, list[str]]:
    content = make_content(database, "Label Test Disc", 600_000_000)
    with database.transaction() as session:
        user = store.ensure_user(session, "lena", role=Role.CUSTOMER)
        principal = store.Principal(user_id=user.id, name=user.name, role=Role.CUSTOMER)
        placed = store.place_order(
            session,
            principal,
            [OrderLine(content, "CD-R", 1)] * requests,
            Address(
                name="Lena Schmidt",
                lines=("Hauptstrasse 5",),
                city="Berlin",
                postal_code="10115",
                country="DE",
            ),
        )
        ids = []
        for request in placed.order.requests:
            for target in (
                RequestState.ASSIGNED,
                RequestState.BURNING,
                RequestState.VERIFYING,
                RequestState.DONE,
            ):
                store.transition_request(session, request, target)
            # a printer named by a long folder path fits (PostgreSQL enforces lengths)
            queue_label(session, request, printer="folder:" + "/deep" * 60, sheet="4x6")
            ids.append(request.id)
        return placed.order.id, ids


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_one_label_per_request_printed_once(database: Database, tmp_path: Path) -> None:
    order_id, request_ids = _done_order(database)
    printer = FolderPrinter(tmp_path / "labels", once_per_name=True)
    assert asyncio.run(print_pending(database, printer)) == 3
    assert asyncio.run(print_pending(database, printer)) == 0, "printed twice"
    files = sorted((tmp_path / "labels").glob("*.pdf"))
    assert len(files) == 3
    for request_id in request_ids:
        [label] = [f for f in files if request_id in f.name]
        text = _text(label)
        assert "Lena Schmidt" in text and "10115 Berlin" in text and request_id in text
    with database.transaction() as session:
        events = store.list_events(
            session, store.EventFilter(order_id=order_id, type="label.printed")
        )
        assert sorted(e.request_id for e in events) == sorted(request_ids)


def test_batch_mode_prints_one_sheet(database: Database, tmp_path: Path) -> None:
    _, request_ids = _done_order(database)
    printer = FolderPrinter(tmp_path / "labels", once_per_name=True)
    assert asyncio.run(print_pending(database, printer, batch=True)) == 3
    [sheet] = list((tmp_path / "labels").glob("*.pdf"))
    text = _text(sheet)
    assert all(request_id in text for request_id in request_ids)


def test_failing_printer_raises_a_notice_and_reprint_works(
    database: Database, tmp_path: Path
) -> None:
    order_id, _ = _done_order(database, requests=1)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the label folder should be")
    broken = FolderPrinter(blocked / "labels")
    for _ in range(3):
        assert asyncio.run(print_pending(database, broken)) == 0
    with database.transaction() as session:
        [notice] = store.list_notices(session)
        assert notice.kind == "print-failed"
        assert f"discflow labels print --order {order_id}" in notice.message
        assert session.query(PrintJob).filter_by(state="failed").count() == 1
    assert reprint_order(database, order_id, printer="folder", sheet="4x6", actor="ops") == 1
    fixed = FolderPrinter(tmp_path / "labels", once_per_name=True)
    assert asyncio.run(print_pending(database, fixed)) == 1
    with database.transaction() as session:
        assert store.list_notices(session) == [], "a good print clears the notice"


def test_a_dispatcher_that_lost_the_floor_prints_nothing_more(
    database: Database, tmp_path: Path
) -> None:
    # d1's round outlasted its floor lease and d2 took the floor: d1, still in its
    # round, must not print what d2 prints too (two paper labels for one parcel)
    _done_order(database)
    with database.transaction() as session:
        assert store.acquire_lease(session, "planner", owner="d1", ttl_s=0.05)
    time.sleep(0.1)
    with database.transaction() as session:
        assert store.acquire_lease(session, "planner", owner="d2", ttl_s=60)

    def holds_the_floor(owner: str) -> Callable[[Session], bool]:
        return lambda session: store.acquire_lease(session, "planner", owner=owner, ttl_s=60)

    printer = FolderPrinter(tmp_path / "labels", once_per_name=True)
    assert asyncio.run(print_pending(database, printer, fence=holds_the_floor("d1"))) == 0
    assert not list((tmp_path / "labels").glob("*.pdf")), "printed without the floor's lease"
    assert asyncio.run(print_pending(database, printer, fence=holds_the_floor("d2"))) == 3
    assert asyncio.run(print_pending(database, printer, fence=holds_the_floor("d2"))) == 0


def test_the_cli_prints_only_while_no_dispatcher_holds_the_floor(
    database: Database, tmp_path: Path
) -> None:
    # `discflow labels print --order` beside a running dispatcher: it must not print
    # what the dispatcher's round prints too; with the floor free it prints and lets go
    _done_order(database)
    printer = FolderPrinter(tmp_path / "labels", once_per_name=True)
    with database.transaction() as session:
        assert store.acquire_lease(session, "planner", owner="d1", ttl_s=60)
    cli = print_pending_holding_the_floor(database, printer, owner="cli-1", ttl_s=60)
    assert asyncio.run(cli) == 0
    assert not list((tmp_path / "labels").glob("*.pdf")), "printed beside the floor's holder"
    with database.transaction() as session:
        store.release_lease(session, "planner", owner="d1")
    cli = print_pending_holding_the_floor(database, printer, owner="cli-1", ttl_s=60)
    assert asyncio.run(cli) == 3
    with database.transaction() as session:  # let go: a dispatcher takes the floor at once
        assert store.acquire_lease(session, "planner", owner="d1", ttl_s=60)
