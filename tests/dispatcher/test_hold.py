"""A held order is not planned until released (CUPS: a held job is not scheduled);
the hold and the planner's claim take the same row locks, so a request is either held
before a plan binds it or bound (and made) before it is held."""

from __future__ import annotations

from pathlib import Path

import pytest

from discflow import store
from discflow.archive import BlobStore
from discflow.dispatcher import Dispatcher, DispatcherSettings
from discflow.domain import DispatchReason, DispatchState, RequestState
from discflow.errors import IllegalTransition
from discflow.store import CopyCounts, Database, Job, Principal, Request, Role
from tests.utils.factories import make_content, online_sim_device, place_request


def _operator(database: Database) -> Principal:
    with database.transaction() as session:
        user = store.ensure_user(session, "olga", role=Role.OPERATOR)
        return Principal(user_id=user.id, name=user.name, role=Role.OPERATOR)


def _dispatcher(tmp_path: Path, database: Database) -> Dispatcher:
    settings = DispatcherSettings(data_dir=tmp_path / "data")
    return Dispatcher(database, BlobStore(tmp_path / "archive"), settings, owner="d1")


def _state(database: Database, request_id: str) -> str:
    with database.transaction() as session:
        request = session.get(Request, request_id)
        assert request is not None
        return request.state


def _jobs(database: Database) -> list[str]:
    with database.transaction() as session:
        return [j.request_id for j in store.active_jobs(session)]


def test_a_held_order_is_planned_only_once_released(tmp_path: Path, database: Database) -> None:
    online_sim_device(database, "pub", media="CD-R", port=9001, drives=4)
    content = make_content(database, "film", 100_000)
    with database.transaction() as session:
        held = place_request(session, content, 2)
        other = place_request(session, content, 1).id
        held_id, order_id = held.id, held.order_id
    olga = _operator(database)
    with database.transaction() as session:
        store.hold_order(session, order_id, olga, why="awaiting payment")
    dispatcher = _dispatcher(tmp_path, database)

    dispatcher.planner.plan_and_assign({"main"})
    assert _jobs(database) == [other], "only the order not held is planned"
    assert _state(database, held_id) == RequestState.HELD
    with database.transaction() as session:
        assert store.claim_requests(session, [held_id]) == {held_id: 0}

    with database.transaction() as session:
        store.release_order(session, order_id, olga)
    dispatcher.planner.plan_and_assign({"main"})
    assert sorted(_jobs(database)) == sorted([other, held_id])
    assert _state(database, held_id) == RequestState.ASSIGNED
    with database.transaction() as session, pytest.raises(IllegalTransition, match="queued"):
        store.hold_order(session, order_id, olga)  # planned now: it is made, not held


def test_discs_reported_for_a_held_request_still_finish_it(database: Database) -> None:
    # a device presumed dead comes back with the discs of its moved job while the
    # request is held: nothing is left to hold, so it is done (and ships)
    online_sim_device(database, "pub", media="CD-R", port=9001)
    content = make_content(database, "film", 100_000)
    olga = _operator(database)
    with database.transaction() as session:
        request = place_request(session, content, 1)
        job = store.create_job(session, request, device="pub", copies=1, owner="d1", lease_s=30)
        session.flush()
        silent = CopyCounts(0, 0, False, False)
        store.update_job(session, job, state=DispatchState.LOST, counts=silent, error="silent",
                         reason=DispatchReason.SERVICE_OFF_LINE)  # fmt: skip
        store.settle_request(session, request, max_failed_discs=3)
        request_id, order_id, job_id = request.id, request.order_id, job.id
    assert _state(database, request_id) == RequestState.QUEUED
    with database.transaction() as session:
        store.hold_order(session, order_id, olga)
    with database.transaction() as session:
        lost = session.get(Job, job_id)
        assert lost is not None
        store.update_job(session, lost, state=DispatchState.DONE, counts=CopyCounts(1, 0, False,
                         False))  # fmt: skip
        request = session.get(Request, request_id)
        assert request is not None
        store.settle_request(session, request, max_failed_discs=3)
    assert _state(database, request_id) == RequestState.DONE
