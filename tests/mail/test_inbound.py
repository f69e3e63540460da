"""Mail commands over real SMTP: orders, status, and everything that must change nothing."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from discflow import store
from discflow.settings import Settings
from discflow.store import Database, EventFilter
from discflow.store._tables import MailOutbox
from tests.mail.conftest import DOMAIN, Relay, compose, make_account, send
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer

ADDRESS_BLOCK = """Name: Ada Lovelace
Street: 12 St James's Square
City: London
Postcode: SW1Y 4JH
Country: GB
"""


def _counts(database: Database) -> dict[str, int]:
    with database.transaction() as session:
        return {
            "orders": session.scalar(select(func.count(store.Order.id))) or 0,
            "outbox": session.scalar(select(func.count(MailOutbox.id))) or 0,
        }


def _refusals(database: Database) -> list[dict[str, Any]]:
    with database.transaction() as session:
        events = store.list_events(session, EventFilter(type="mail.refused", limit=1000))
        return [e.data for e in events]


def _comparable(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "ship_to": order["ship_to"],
        "state": order["state"],
        "requests": [
            {k: r[k] for k in ("content_id", "media", "copies", "state")} for r in order["requests"]
        ],
    }


def test_order_by_mail_is_the_order_the_api_makes_and_the_reply_has_its_id(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay
) -> None:
    alice = make_account(database, "alice")
    api_token = make_token(database, "alice")
    content_id = make_content(database, "Debian 12 netinst", 650_000_000)

    by_api = server.post(
        "/api/v1/orders",
        json={
            "requests": [{"content_id": content_id, "media": "CD-R", "copies": 2}],
            "ship_to": address(),
        },
        headers=bearer(api_token),
    )
    assert by_api.status_code == 201, by_api.text

    send(
        mail_settings,
        compose(
            alice.email,
            f"Hello,\nTOKEN {alice.mail_token}\nORDER Debian 12 netinst cd-r x2\n{ADDRESS_BLOCK}"
            "\nThanks!\n",
            subject="new order",
        ),
    )
    mails = relay.wait_for(2, to=alice.email)
    [reply] = [m for m in mails if m["Subject"] == "Re: new order"]
    # the API order is confirmed by mail too (the mail order by the reply)
    [confirmation] = [m for m in mails if m is not reply]
    assert confirmation["Subject"] == f"Order {by_api.json()['id']} received"
    text = reply.get_content()
    orders = server.get("/api/v1/orders", headers=bearer(api_token)).json()
    assert len(orders) == 2
    by_mail = next(o for o in orders if o["id"] != by_api.json()["id"])
    assert by_mail["source"] == "mail"
    assert _comparable(by_mail) == _comparable(by_api.json())
    assert by_mail["id"] in text and "Debian 12 netinst" in text
    assert reply["Subject"] == "Re: new order"
    assert reply["In-Reply-To"] is not None
    assert reply["Auto-Submitted"] == "auto-replied"


def test_status_catalog_and_help_are_answered(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay
) -> None:
    bob = make_account(database, "bob")
    content_id = make_content(database, "Ubuntu Server 24.04", 2_600_000_000, tags=("linux",))
    send(
        mail_settings,
        compose(
            bob.email,
            f"TOKEN {bob.mail_token}\nORDER {content_id} DVD-R x1\n{ADDRESS_BLOCK}",
            to=f"orders@{DOMAIN}",
        ),
    )
    [first] = relay.wait_for(1, to=bob.email)
    order_id = next(w for w in first.get_content().split() if w.startswith("ORD-"))

    # token in a +token address, commands in the subject and body
    send(
        mail_settings,
        compose(
            bob.email,
            "CATALOG ubuntu\nHELP\n",
            subject=f"STATUS {order_id}",
            to=f"bob+{bob.mail_token}@{DOMAIN}",
        ),
    )
    second = relay.wait_for(2, to=bob.email)[1].get_content()
    assert f"Order {order_id}: queued" in second
    assert "1 x DVD-R of 'Ubuntu Server 24.04'" in second
    assert (
        f"{content_id}  Ubuntu Server 24.04" in second and "(2.6 GB; fits DVD+R, DVD-R," in second
    )
    assert "LOADED <device> <media> <count>" in second  # HELP lists every command


def test_malformed_command_gets_the_correct_syntax_and_changes_nothing(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay
) -> None:
    carol = make_account(database, "carol")
    make_content(database, "Some disc", 1_000_000)
    send(
        mail_settings,
        compose(carol.email, f"TOKEN {carol.mail_token}\nORDER Some disc CD-R\n{ADDRESS_BLOCK}"),
    )
    [reply] = relay.wait_for(1, to=carol.email)
    text = reply.get_content()
    assert "Nothing was done" in text
    assert "ORDER <content id or exact title> <media> x<copies>" in text
    assert _counts(database)["orders"] == 0
    assert _refusals(database)[-1]["reason"] == "syntax"


def test_mail_that_must_change_nothing_changes_nothing(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay
) -> None:
    dave = make_account(database, "dave")
    make_content(database, "Some disc", 1_000_000)
    order_text = f"ORDER Some disc CD-R x1\n{ADDRESS_BLOCK}"

    # 1. a known sender without a token, 2. a stranger with someone's valid token,
    # 3. a forged From (dave's address) with a wrong token
    send(mail_settings, compose(dave.email, order_text))
    send(mail_settings, compose("mallory@evil.example", f"TOKEN {dave.mail_token}\n{order_text}"))
    send(mail_settings, compose(dave.email, f"TOKEN {'0' * 24}\n{order_text}"))
    # 4. oversize, even with the right token
    with pytest.raises(smtplib.SMTPDataError) as too_big:
        send(
            mail_settings,
            compose(
                dave.email, f"TOKEN {dave.mail_token}\n{order_text}\n" + "padding line\n" * 3000
            ),
        )
    assert too_big.value.smtp_code == 552
    # 5. a replay of an accepted mail
    good = compose(dave.email, f"TOKEN {dave.mail_token}\n{order_text}", message_id="<one@x>")
    send(mail_settings, good)
    relay.wait_for(3, to=dave.email)  # two polite refusals and one reply
    before = _counts(database)
    send(mail_settings, good)
    # 6. a recipient outside our domain is refused at RCPT time
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(mail_settings, compose(dave.email, order_text, to="someone@elsewhere.example"))

    reasons = [r["reason"] for r in _refusals(database)]
    assert reasons == [
        "bad-token",
        "unknown-sender",
        "bad-token",
        "oversize",
        "replay",
        "not-our-domain",
    ]
    assert _counts(database) == before
    assert before["orders"] == 1
    replies = relay.wait_for(3, to=dave.email)
    assert sum("did not carry your current mail token" in m.get_content() for m in replies) == 2
    # the stranger got nothing back
    assert not [m for m in relay.messages if "mallory" in str(m["To"])]


def test_operator_commands_need_an_operator_and_rate_limit_holds(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay
) -> None:
    erin = make_account(database, "erin")
    send(mail_settings, compose(erin.email, f"TOKEN {erin.mail_token}\nPAUSE pub-1\nDEVICES"))
    [reply] = relay.wait_for(1, to=erin.email)
    assert reply.get_content().count("is an operator command") == 2
    for _ in range(mail_settings.mail_per_hour - 1):
        send(mail_settings, compose(erin.email, f"TOKEN {erin.mail_token}\nHELP"))
    with pytest.raises(smtplib.SMTPDataError) as limited:
        send(mail_settings, compose(erin.email, f"TOKEN {erin.mail_token}\nHELP"))
    assert limited.value.smtp_code == 451
    assert _refusals(database)[-1]["reason"] == "rate-limit"
