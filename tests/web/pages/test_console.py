"""The console's rules in process: notices per need, failure policy, partly made
orders, reload rebalancing, job moves, whole-number inputs, order search and CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from discflow import store
from discflow.dispatcher._floor import Floor
from discflow.dispatcher._settings import DispatcherSettings
from discflow.domain import RequestState
from discflow.store import Database, Job, Notice, PrintJob, Role
from discflow.web.pages._job_actions import moves_after_reload, rebalance_after_reload
from tests.utils.factories import make_content
from tests.web.pages.conftest import make_user, sign_in
from tests.web.pages.floor_scene import POLICY, assign, heartbeat, place, watch

NEW_ADDRESS = {
    "ship": "new",
    "name": "Cara Customer",
    "line1": "1 Main Street",
    "postal_code": "12345",
    "city": "Springfield",
    "country": "US",
}


def _open_notices(database: Database) -> list[Notice]:
    with database.transaction() as session:
        notices = store.list_notices(session)
        session.expunge_all()
        return notices


def test_one_notice_per_need_with_the_right_words_and_severity(
    client: TestClient, database: Database
) -> None:
    """Defect 5: CD-R out everywhere, one request waiting: one error notice (not three),
    "1 request", the blanks to load, and each device reads "needs CD-R"."""
    content = make_content(database, "Dawn Chorus", 5_000_000)
    for name in ("pub-1", "pub-2", "sim-1"):
        heartbeat(database, name, media={"CD-R": 0})
    place(database, "cara", content, copies=2)
    floor = Floor(database, DispatcherSettings(heartbeat_offline_s=3600), POLICY)
    floor.watch()
    # and the planner asks for each device too, as it does every round
    with database.transaction() as session:
        for name in ("pub-1", "pub-2", "sim-1"):
            floor.notify(
                session,
                "media-out",
                f"Load 100 CD-R into {name}: 0 requests waiting",
                severity="error",
                device=name,
                media="CD-R",
                data={"blanks_needed": 100, "requests_waiting": 1, "loaded_total": 100},
            )
    notices = _open_notices(database)
    assert [(n.kind, n.severity) for n in notices] == [("media-out", "error")]
    assert notices[0].message == (
        "Load 100 CD-R into pub-1: 1 request (2 discs) waiting, no CD-R left on any device"
    )
    make_user(database, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/floor").text
    assert page.count("needs CD-R") >= 3
    assert re.search(r'name="count" value="100">\s*<button[^>]*>Loaded 100', page)


def test_a_low_device_while_others_serve_is_a_warning_and_a_reload_clears_it_at_once(
    database: Database,
) -> None:
    content = make_content(database, "Dawn Chorus", 5_000_000)
    heartbeat(database, "pub-1", media={"CD-R": 0})
    heartbeat(database, "pub-2", media={"CD-R": 22})
    place(database, "cara", content)
    watch(database)
    notices = _open_notices(database)
    assert [(n.device, n.kind, n.severity) for n in notices] == [("pub-1", "media-out", "warning")]
    assert "1 request waiting go to other devices" in notices[0].message
    from discflow.dispatcher._needs import media_loaded_now

    with database.transaction() as session:
        media_loaded_now(
            session,
            device="pub-1",
            answer={"media": "CD-R", "loaded": 50, "loaded_total": 150, "used_good": 0},
        )
        row = store.get_device(session, "pub-1").media[0]
        assert row.loaded == 50
    assert _open_notices(database) == []


def test_failure_policy_stops_the_job_pauses_the_device_and_tells_the_operator(
    database: Database,
) -> None:
    content = make_content(database, "Dawn Chorus", 5_000_000)
    heartbeat(database, "pub-1")
    _, request_id = place(database, "cara", content, copies=10)
    job_id = assign(database, request_id, "pub-1", state="running")
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        store.update_job(
            session,
            job,
            state="running",
            counts=store.CopyCounts(2, 3, True, False),
            error="drive 1: write error (PTBurn 0x31 media error)",
        )
    floor = Floor(database, DispatcherSettings(heartbeat_offline_s=3600), POLICY)
    floor.watch()
    assert floor.to_stop == {job_id: "pub-1"}
    with database.transaction() as session:
        assert store.get_device(session, "pub-1").paused
        (notice,) = [n for n in store.list_notices(session) if n.kind == "job-failed"]
        assert notice.severity == "error"
        assert "stopped after 3 failed discs (drive 1: write error" in notice.message
        assert "its 8 discs left go to other devices" in notice.message


def test_failure_policy_limit_is_configurable(database: Database) -> None:
    content = make_content(database, "Dawn Chorus", 5_000_000)
    heartbeat(database, "pub-1")
    _, request_id = place(database, "cara", content, copies=10)
    job_id = assign(database, request_id, "pub-1", state="running")
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        store.update_job(session, job, state="running", counts=store.CopyCounts(0, 3, True, False))
    floor = Floor(
        database,
        DispatcherSettings(heartbeat_offline_s=3600, stop_job_after_failed_discs=5),
        POLICY,
    )
    floor.watch()
    assert floor.to_stop == {}


def test_partly_made_cancelled_order_says_so_and_ships_with_a_label(
    client: TestClient, database: Database
) -> None:
    """Defect 6: 138 of 180 verified, then cancelled."""
    content = make_content(database, "Dawn Chorus", 5_000_000)
    heartbeat(database, "pub-1")
    make_user(database, "cara")
    order_id, request_id = place(database, "cara", content, copies=180)
    job_id = assign(database, request_id, "pub-1", state="running")
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        store.update_job(
            session, job, state="cancelled", counts=store.CopyCounts(138, 0, False, False)
        )
        request = store.get_request(session, request_id)
        store.settle_request(session, request, max_failed_discs=5)
        store.transition_request(session, request, RequestState.CANCELLED, reason="by cara")
    watch(database)
    with database.transaction() as session:
        (label,) = session.scalars(select(PrintJob).where(PrintJob.request_id == request_id))
        assert label.state == "pending"
    watch(database)  # no second label
    with database.transaction() as session:
        assert len(session.scalars(select(PrintJob)).all()) == 1
    sign_in(client, "cara")
    page = client.get(f"/orders/{order_id}").text
    assert 'id="order-state">partly made<' in page
    assert "138 of 180 verified" in page
    listing = client.get("/orders").text
    assert "partly made" in listing


def test_blank_count_says_the_allowed_range(client: TestClient, database: Database) -> None:
    """Defect 8."""
    make_user(database, "otto", Role.OPERATOR)
    heartbeat(database, "pub-1")
    csrf = sign_in(client, "otto")
    for given in ("-5", "²", "12345678901234567890", "0"):
        answer = client.post(
            "/floor/devices/pub-1/media", data={"csrf_token": csrf, "media": "CD-R", "count": given}
        )
        assert answer.status_code == 200
        assert "from 1 to 10000" in answer.text or "outside 1 to 10000" in answer.text, given


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ship", "²"),
        ("ship", "12345678901234567890"),
        ("copies", "²"),
        ("copies", "٣"),
        ("copies", "12345678901234567890"),
    ],
)
def test_order_form_numbers_are_checked_not_crashed_on(
    client: TestClient, database: Database, field: str, value: str
) -> None:
    """#19 item 11: no 500 and no reset connection; a 422 that says what to type."""
    content = make_content(database, "Dawn Chorus", 5_000_000)
    make_user(database, "cara")
    csrf = sign_in(client, "cara")
    form = {
        "csrf_token": csrf,
        "content_id": content,
        "media": "CD-R",
        "copies": "1",
        **NEW_ADDRESS,
        field: value,
    }
    answer = client.post("/orders", data=form)
    assert answer.status_code == 422, answer.text[:300]
    assert "not yours" in answer.text or "from 1 to 1000" in answer.text


def test_reload_moves_work_not_started_to_the_device_that_finishes_it_sooner(
    database: Database,
) -> None:
    """Defect 13: an idle pub-2 gets 50 CD-R; sim-1's not-started jobs move there."""
    content = make_content(database, "Dawn Chorus", 50_000_000)
    heartbeat(database, "sim-1", media={"CD-R": 200})
    heartbeat(database, "pub-2", media={"CD-R": 0})
    running = assign(
        database, place(database, "cara", content, copies=20)[1], "sim-1", state="running"
    )
    waiting = [
        assign(database, place(database, "cara", content, copies=8)[1], "sim-1", state="pending")
        for _ in range(3)
    ]
    assert moves_after_reload(database, device="pub-2", media="CD-R") == []  # no blanks yet
    heartbeat(database, "pub-2", media={"CD-R": 50})
    chosen = moves_after_reload(database, device="pub-2", media="CD-R")
    assert chosen and set(chosen) <= set(waiting) and running not in chosen
    import asyncio

    moved = asyncio.run(
        rebalance_after_reload(database, device="pub-2", media="CD-R", actor="otto")
    )
    assert moved == chosen
    with database.transaction() as session:
        for job_id in moved:
            old = session.get(Job, job_id)
            assert old is not None and old.state == "cancelled"
            assert old.error == "moved to pub-2 by otto"
        on_pub2 = session.scalars(select(Job).where(Job.device == "pub-2")).all()
        assert sum(j.copies for j in on_pub2) == 8 * len(moved)
        assert session.get(Job, running).device == "sim-1"  # type: ignore[union-attr]


def test_operator_finds_orders_by_customer_state_content_and_pages(
    client: TestClient, database: Database
) -> None:
    dawn = make_content(database, "Dawn Chorus", 5_000_000)
    minutes = make_content(database, "Council Minutes", 5_000_000)
    heartbeat(database, "pub-1")
    for i in range(60):
        place(database, "cara" if i % 2 else "carl", dawn if i % 3 else minutes)
    formula = make_content(database, "=SUM(1+1) Reels", 5_000_000)
    _, burning = place(database, "carl", formula)
    assign(database, burning, "pub-1", state="running")
    make_user(database, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/orders").text
    assert "61 orders · page 1 of 2" in page and page.count('class="mono id"') == 50
    assert client.get("/orders?page=2").text.count('class="mono id"') == 11
    assert "30 orders" in client.get("/orders?customer=cara").text
    assert "10 orders" in client.get("/orders?content=council&customer=cara").text
    assert "1 order" in client.get("/orders?device=pub-1").text
    assert "1 order" in client.get("/orders?state=in-progress").text
    assert "0 orders" in client.get("/orders?since=2001-01-01&until=2001-12-31").text
    bad = client.get("/orders?since=yesterday")
    assert bad.status_code == 422 and "not a date like" in bad.text
    exported = client.get("/orders.csv?content=council")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 20 and {r["content"] for r in rows} == {"Council Minutes"}
    (row,) = csv.DictReader(io.StringIO(client.get("/orders.csv?device=pub-1").text))
    assert row["content"] == "'=SUM(1+1) Reels"  # no formula for a spreadsheet


def test_customer_search_sees_only_their_own(client: TestClient, database: Database) -> None:
    dawn = make_content(database, "Dawn Chorus", 5_000_000)
    make_user(database, "cara")
    for name in ("cara", "carl", "carl"):
        place(database, name, dawn)
    sign_in(client, "cara")
    assert "1 order" in client.get("/orders").text
    assert "0 orders" in client.get("/orders?customer=carl").text
    rows = list(csv.DictReader(io.StringIO(client.get("/orders.csv").text)))
    assert [r["customer"] for r in rows] == ["cara"]


def test_rush_from_the_order_form_goes_first_in_the_device_queue(
    client: TestClient, other_client: TestClient, database: Database
) -> None:
    content = make_content(database, "Dawn Chorus", 5_000_000)
    heartbeat(database, "pub-1")
    make_user(database, "cara")
    csrf = sign_in(client, "cara")
    form = client.get("/orders/new").text
    assert '<option value="rush">rush</option>' in form
    jobs = []
    for priority in ("normal", "rush"):
        placed = client.post(
            "/orders",
            data={
                "csrf_token": csrf,
                "content_id": content,
                "media": "CD-R",
                "copies": "2",
                "priority": priority,
                **NEW_ADDRESS,
            },
            follow_redirects=False,
        )
        assert placed.status_code == 303
        order_id = placed.headers["location"].rsplit("/", 1)[1]
        with database.transaction() as session:
            (request,) = store.get_order(
                session, order_id, store.Principal(None, "t", Role.ADMIN)
            ).requests
            assert request.priority == priority
            request_id = request.id
        jobs.append(assign(database, request_id, "pub-1"))
    bad = client.post(
        "/orders",
        data={
            "csrf_token": csrf,
            "content_id": content,
            "media": "CD-R",
            "copies": "1",
            "priority": "asap",
            **NEW_ADDRESS,
        },
    )
    assert bad.status_code == 422 and "choose one of low, normal, rush" in bad.text
    make_user(database, "otto", Role.OPERATOR)
    sign_in(other_client, "otto")
    floor = other_client.get("/floor").text
    rows = re.findall(r'data-job="(JOB-\w+)"', floor)
    assert rows == [jobs[1], jobs[0]]  # rush first, though placed second
    assert 'class="pri pri-rush">rush<' in floor


def test_order_page_shows_the_plans_eta(client: TestClient, database: Database) -> None:
    """ETAs from the plan: the planner writes each job's planned end; the page shows it.

    One copy, so the late-binding planner commits every disc of the request to the job at
    once (with more copies it binds only what the drives start soon, and the page falls
    back to its estimate)."""
    import time as clock

    from discflow.dispatcher._planner import Planner

    content = make_content(database, "Dawn Chorus", 50_000_000)
    heartbeat(database, "pub-1", media={"CD-R": 80})
    make_user(database, "cara")
    order_id, request_id = place(database, "cara", content, copies=1)
    settings = DispatcherSettings(heartbeat_offline_s=3600)
    floor = Floor(database, settings, POLICY)
    planner = Planner(database, settings, owner="t", clock=clock.time, links={}, floor=floor)
    planner.plan_and_assign({"main"})  # the one site every device is in by default
    with database.transaction() as session:
        (job,) = session.scalars(select(Job).where(Job.request_id == request_id))
        assert job.planned_end_at is not None
        minutes = (job.planned_end_at - store.utcnow()).total_seconds() / 60
    sign_in(client, "cara")
    eta = re.search(r'<td class="eta">([^<]*)</td>', client.get(f"/orders/{order_id}").text)
    assert eta is not None
    assert eta.group(1).strip() == f"about {max(1, round(minutes))} min"


def test_planners_ask_for_a_device_with_blanks_says_why_not_zero_waiting(
    database: Database,
) -> None:
    """Defect 5: no "0 requests waiting (0 blanks left)" beside a gauge of 22."""
    heartbeat(database, "pub-2", media={"CD-R": 22})
    floor = Floor(database, DispatcherSettings(heartbeat_offline_s=3600), POLICY)
    with database.transaction() as session:
        floor.notify(
            session,
            "media-out",
            "Load 100 CD-R into pub-2: 0 requests waiting (0 blanks left)",
            severity="error",
            device="pub-2",
            media="CD-R",
            data={"blanks_needed": 100, "requests_waiting": 0, "loaded_total": 100},
        )
    (notice,) = _open_notices(database)
    assert (notice.kind, notice.severity) == ("media-low", "warning")
    assert notice.message == (
        "Load 100 CD-R into pub-2: its 22 left will not finish the work planned for it"
    )


def test_customer_never_reads_the_operators_reason(
    client: TestClient, other_client: TestClient, database: Database
) -> None:
    content = make_content(database, "Dawn Chorus", 5_000_000)
    make_user(database, "cara")
    order_id, request_id = place(database, "cara", content)
    with database.transaction() as session:
        request = store.get_request(session, request_id)
        store.transition_request(
            session,
            request,
            RequestState.FAILED,
            reason="6 discs failed on pub-2 drive 1; check the device's drives and media",
        )
    sign_in(client, "cara")
    page = client.get(f"/orders/{order_id}").text
    assert "pub-2" not in page and "drive 1" not in page
    assert "we will contact you" in page
    make_user(database, "otto", Role.OPERATOR)
    sign_in(other_client, "otto")
    assert "6 discs failed on pub-2 drive 1" in other_client.get(f"/orders/{order_id}").text
