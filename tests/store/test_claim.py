"""Planners of different sites claim the requests they bind (store.claim_requests)."""

from __future__ import annotations

import threading
import time

from discflow import store
from discflow.domain import RequestState
from discflow.store import Database
from tests.utils.factories import make_content, place_request


def _device(database: Database, name: str) -> None:
    with database.transaction() as session:
        store.register_device(
            session,
            name=name,
            driver="sim",
            address="http://127.0.0.1:9000",
            actor="test",
            agent_token=f"dfa_{name}",
        )


def test_a_claim_counts_the_copies_other_jobs_already_hold(database: Database) -> None:
    content = make_content(database, "Liner Notes", 100_000)
    _device(database, "pub-1")
    with database.transaction() as session:
        request = place_request(session, content, 3)
        other = place_request(session, content, 2)
        store.create_job(session, request, device="pub-1", copies=2, owner="d1", lease_s=5)
        request_id, other_id = request.id, other.id
    with database.transaction() as session:
        assert store.claim_requests(session, [request_id, other_id]) == {
            request_id: 1,
            other_id: 2,
        }
        cancelled = session.get(store.Request, other_id)
        assert cancelled is not None
        store.transition_request(session, cancelled, RequestState.CANCELLED)
    with database.transaction() as session:
        assert store.claim_requests(session, [other_id]) == {other_id: 0}
        assert store.claim_requests(session, []) == {}


def test_a_second_planner_waits_for_the_first_and_sees_its_jobs(database: Database) -> None:
    """The claim is a row lock on PostgreSQL, the write lock on SQLite: the second claim
    waits for the first transaction and then counts the copies it planned."""
    content = make_content(database, "Liner Notes", 100_000)
    _device(database, "pub-1")
    with database.transaction() as session:
        request_id = place_request(session, content, 3).id
    seen: dict[str, int] = {}
    first_claimed = threading.Event()

    def second_planner() -> None:
        first_claimed.wait(10)
        with database.transaction() as session:
            seen.update(store.claim_requests(session, [request_id]))

    thread = threading.Thread(target=second_planner)
    thread.start()
    with database.transaction() as session:
        assert store.claim_requests(session, [request_id]) == {request_id: 3}
        first_claimed.set()
        time.sleep(0.5)  # the second planner is blocked on the row meanwhile
        assert not seen
        request = session.get(store.Request, request_id)
        assert request is not None
        store.create_job(session, request, device="pub-1", copies=3, owner="d1", lease_s=5)
    thread.join(10)
    assert seen == {request_id: 0}
