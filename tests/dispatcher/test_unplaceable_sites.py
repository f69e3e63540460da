""" "No device can take this request" with the sites split between planners (issue 17).

A planner holding one site sees only that site's devices: what its plan refuses may
be served by another site. It records a request unplaceable only when no device of
any site can take it, once, however many site planners refuse it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from discflow import store
from discflow.archive import BlobStore
from discflow.dispatcher import Dispatcher, DispatcherSettings
from discflow.store import Database, Event, Notice, Request
from tests.utils.factories import make_content, online_sim_device, place_request


def _unplaceable_events(database: Database, request_id: str) -> int:
    with database.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.type == "request.unplaceable", Event.request_id == request_id)
            )
            or 0
        )


def _reason(database: Database, request_id: str) -> str | None:
    with database.transaction() as session:
        request = session.get(Request, request_id)
        assert request is not None
        return request.reason or None


def test_a_site_planner_calls_unplaceable_only_what_no_site_can_take(
    tmp_path: Path, database: Database
) -> None:
    online_sim_device(database, "pub-east", site="east", media="CD-R", port=9001)
    online_sim_device(database, "pub-west", site="west", media="DVD-R", port=9002)
    content = make_content(database, "film", 100_000)
    with database.transaction() as session:
        for_west = place_request(session, content, 1, media="DVD-R").id
        for_nobody = place_request(session, content, 1, media="BD-R").id
    blobs = BlobStore(tmp_path / "archive")
    settings = DispatcherSettings(data_dir=tmp_path / "data")
    east = Dispatcher(database, blobs, settings, owner="d-east")
    west = Dispatcher(database, blobs, settings, owner="d-west")

    east.planner.plan_and_assign({"east"})  # sees neither a DVD-R nor a BD-R writer

    assert _reason(database, for_west) is None, "west writes DVD-R: not unplaceable"
    assert _unplaceable_events(database, for_west) == 0
    assert "BD-R" in (_reason(database, for_nobody) or "")
    assert _unplaceable_events(database, for_nobody) == 1

    east.planner.plan_and_assign({"east"})  # the same refusal again
    west.planner.plan_and_assign({"west"})  # and from the other site
    assert _unplaceable_events(database, for_nobody) == 1, "recorded once, not per planner"
    with database.transaction() as session:
        notices = session.scalars(
            select(Notice).where(Notice.kind == "request-unplaceable", Notice.cleared_at.is_(None))
        ).all()
        jobs = store.active_jobs(session)
    assert len(notices) == 1 and for_nobody in notices[0].message
    assert [(j.request_id, j.device) for j in jobs] == [(for_west, "pub-west")]


def test_a_planner_of_every_site_still_records_it(tmp_path: Path, database: Database) -> None:
    online_sim_device(database, "pub-east", site="east", media="CD-R", port=9001)
    content = make_content(database, "film", 100_000)
    with database.transaction() as session:
        for_nobody = place_request(session, content, 1, media="BD-R").id
    blobs = BlobStore(tmp_path / "archive")
    alone = Dispatcher(database, blobs, DispatcherSettings(data_dir=tmp_path / "data"), owner="d1")
    alone.planner.plan_and_assign({"east"})
    alone.planner.plan_and_assign({"east"})
    assert "BD-R" in (_reason(database, for_nobody) or "")
    assert _unplaceable_events(database, for_nobody) == 1
