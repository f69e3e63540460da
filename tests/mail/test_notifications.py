"""Operator notices, shipped discs and the outbox over real SMTP, relay outages included."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from discflow import store
from discflow.domain import Address, RequestState
from discflow.mail import notify_once, start_cursor
from discflow.settings import Settings
from discflow.store import Database, OrderLine, Principal, Role
from discflow.store._tables import MailOutbox
from tests.mail.conftest import Relay, make_account
from tests.utils.factories import address, make_content


def _raise_media_notice(database: Database, kind: str = "media-low") -> None:
    with database.transaction() as session:
        store.raise_notice(
            session,
            kind,
            "Load 100 CD-R into pub-2: 3 requests waiting",
            severity="warning",
            device="pub-2",
            media="CD-R",
            data={"loaded": 2, "threshold": 10},
        )


def test_media_low_notice_mails_every_operator_and_no_customer(
    server: TestClient, database: Database, relay: Relay
) -> None:
    olga = make_account(database, "olga", Role.OPERATOR)
    root = make_account(database, "root", Role.ADMIN)
    alice = make_account(database, "alice")
    _raise_media_notice(database)
    [to_olga] = relay.wait_for(1, to=olga.email)
    relay.wait_for(1, to=root.email)
    assert (
        to_olga["Subject"] == "[discflow] media low: Load 100 CD-R into pub-2: 3 requests waiting"
    )
    body = to_olga.get_content()
    assert "Load 100 CD-R into pub-2" in body
    assert "LOADED pub-2 CD-R <count>" in body  # what to tell discflow afterwards
    assert to_olga["Auto-Submitted"] == "auto-generated"
    time.sleep(0.5)
    assert not [m for m in relay.messages if alice.email in str(m["To"])]


def test_notice_raised_while_the_relay_is_down_arrives_when_it_is_back(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay
) -> None:
    olga = make_account(database, "olga", Role.OPERATOR)
    relay.stop()
    _raise_media_notice(database, "media-out")

    deadline = time.monotonic() + 10
    while True:  # the sender tried, failed, and backed off
        with database.transaction() as session:
            row = session.scalar(select(MailOutbox).where(MailOutbox.kind == "notice"))
            if row is not None and row.attempts >= 2:
                assert row.sent_at is None and "did not take the mail" in row.last_error
                break
        assert time.monotonic() < deadline, "the outbox never retried"
        time.sleep(0.05)

    relay.start()
    [mail] = relay.wait_for(1, to=olga.email)
    assert mail["Subject"].startswith("[discflow] media out: Load 100 CD-R into pub-2")
    deadline = time.monotonic() + 5
    while True:  # marked sent right after the relay said 250
        with database.transaction() as session:
            row = session.scalar(select(MailOutbox).where(MailOutbox.kind == "notice"))
            assert row is not None
            if row.sent_at is not None:
                assert row.attempts >= 3 and row.last_error == ""
                break
        assert time.monotonic() < deadline, "the sent mail was never marked sent"
        time.sleep(0.05)
    assert len(relay.wait_for(1, to=olga.email)) == 1  # sent once, not once per try


def test_customer_hears_that_the_discs_have_shipped(
    server: TestClient, database: Database, relay: Relay
) -> None:
    alice = make_account(database, "alice")
    content_id = make_content(database, "Debian 12 netinst", 650_000_000)
    with database.transaction() as session:
        user = session.scalar(select(store.User).where(store.User.name == "alice"))
        assert user is not None
        who = Principal(user_id=user.id, name="alice", role=Role.CUSTOMER)
        placed = store.place_order(
            session,
            who,
            [OrderLine(content_id, "CD-R", 2)],
            Address(**{**address(), "lines": ("12 St James's Square",)}),
            source="web",
        )
        order_id, request_id = placed.order.id, placed.order.requests[0].id
    relay.wait_for(1, to=alice.email)  # the confirmation of a web order
    with database.transaction() as session:
        request = store.get_request(session, request_id)
        for state in (RequestState.ASSIGNED, RequestState.BURNING, RequestState.VERIFYING):
            store.transition_request(session, request, state, device="pub-2")
        request.good_copies = 2
        store.transition_request(session, request, RequestState.DONE, device="pub-2")
    mails = relay.wait_for(2, to=alice.email)
    shipped = mails[1]
    assert shipped["Subject"] == f"Your discs have shipped: {order_id} / {request_id}"
    body = shipped.get_content()
    assert "2 x CD-R of\n'Debian 12 netinst'" in body.replace("\r\n", "\n")
    assert "Ada Lovelace, 12 St James's Square, London" in body


def test_notifier_mails_each_event_once_and_resumes_after_a_restart(database: Database) -> None:
    make_account(database, "olga", Role.OPERATOR)
    _raise_media_notice(database, "media-low")  # before the first start: history, not mailed
    start_cursor(database)
    assert notify_once(database) == 0
    _raise_media_notice(database, "media-out")
    assert notify_once(database) == 1
    assert notify_once(database) == 0  # the cursor moved with the queued mail
    start_cursor(database)  # a restart keeps the stored cursor
    _raise_media_notice(database, "device-offline")
    assert notify_once(database) == 1
    with database.transaction() as session:
        subjects = [r.subject for r in session.scalars(select(MailOutbox).order_by(MailOutbox.id))]
    assert [s.split(":")[0] for s in subjects] == [
        "[discflow] media out",
        "[discflow] device offline",
    ]
