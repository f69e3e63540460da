"""Fuzz the whole mail desk: any bytes from anyone end in exactly one logged outcome."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from discflow import store
from discflow.mail import DeskPolicy, MailDesk
from discflow.store import Database, Role
from tests.mail.conftest import DOMAIN, make_account
from tests.mail.test_grammar import _TEXT


def _outcomes(database: Database) -> list[tuple[str, str]]:
    with database.transaction() as session:
        rows = session.scalars(
            select(store.Event)
            .where(store.Event.type.in_(("mail.accepted", "mail.refused")))
            .order_by(store.Event.id)
        )
        return [(e.type, str((e.data or {}).get("reason", ""))) for e in rows]


_counter = iter(range(10**9))
_COMMANDS = st.lists(
    st.sampled_from(
        [
            "HELP",
            "STATUS ORD-1",
            "CATALOG linux",
            "DEVICES",
            "LOADED pub-9 CD-R 5",
            "PAUSE pub-9",
            "LOG ORD-2",
            "CANCEL ORD-3",
            "ORDER x CD-R x1",
            "x" * 3000,
        ]
    ),
    min_size=1,
    max_size=4,
).map("\n".join)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # Hypothesis leans towards small integers, so 0 picks the rarer branch
    raw=st.integers(0, 4).flatmap(lambda i: st.none() if i else st.binary(max_size=600)),
    sender=st.sampled_from(
        ["carol@customer.example", "olga@customer.example", "CAROL@customer.example"] * 3
        + ["stranger@evil.example", "", "carol@customer.example, x@y"]
    ),
    with_token=st.integers(0, 4).map(lambda i: i != 4),
    subject=_TEXT,
    body=st.one_of(_COMMANDS, st.tuples(_COMMANDS, _TEXT).map("\n".join), _TEXT),
)
def test_every_mail_ends_in_exactly_one_logged_outcome(
    database: Database,
    raw: bytes | None,
    sender: str,
    with_token: bool,
    subject: str,
    body: str,
) -> None:
    accounts = getattr(database, "_fuzz_accounts", None)
    if accounts is None:
        accounts = {
            "carol@customer.example": make_account(database, "carol"),
            "olga@customer.example": make_account(database, "olga", Role.OPERATOR),
        }
        database._fuzz_accounts = accounts  # type: ignore[attr-defined]
    desk = MailDesk(database, DeskPolicy(domain=DOMAIN, max_bytes=2_000, per_hour=10**6))
    authentic = False
    if raw is None:
        message = EmailMessage()
        if sender:
            message["From"] = sender
        message["Subject"] = " ".join(subject.split())[:200]
        message["Message-ID"] = f"<fuzz-{next(_counter)}@customer.example>"
        account = accounts.get(sender)
        token = f"TOKEN {account.mail_token}\n" if with_token and account else ""
        message.set_content(token + body)
        raw = bytes(message)
        authentic = bool(token) and len(raw) <= 2_000
    before = len(_outcomes(database))
    verdict = asyncio.run(desk.receive(mail_from=sender, recipients=[f"x@{DOMAIN}"], data=raw))
    after = _outcomes(database)
    assert len(after) == before + 1, (verdict, after[before:])
    kind, reason = after[-1]
    if verdict.accepted:
        assert kind == "mail.accepted"
    else:
        assert kind == "mail.refused" and reason == verdict.reason
    # only a known user's mail with that user's token is ever carried out
    assert not verdict.accepted or authentic
    event("accepted" if verdict.accepted else f"refused: {verdict.reason}")


def test_a_token_line_with_non_ascii_text_is_a_bad_token_not_a_crash(database: Database) -> None:
    # found by the fuzz above: secrets.compare_digest raised TypeError on such a str
    carol = make_account(database, "carol")
    message = EmailMessage()
    message["From"] = carol.email
    message["Message-ID"] = "<non-ascii@customer.example>"
    message.set_content("TOKEN ünïcødé\nHELP\n")
    desk = MailDesk(database, DeskPolicy(domain=DOMAIN))
    verdict = asyncio.run(desk.receive(mail_from=carol.email, recipients=[], data=bytes(message)))
    assert (verdict.accepted, verdict.reason) == (False, "bad-token")
    assert _outcomes(database) == [("mail.refused", "bad-token")]
