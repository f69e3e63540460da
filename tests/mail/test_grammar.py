"""The mail command grammar: examples from docs/mail.md, refusals, and a Hypothesis fuzz."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discflow.domain import Address
from discflow.mail import MailSyntaxError, find_token, parse_mail
from discflow.mail._grammar import (
    USAGE,
    Catalog,
    Help,
    Loaded,
    Order,
    OrderItem,
    Pause,
    Resume,
    Status,
)

ADDRESS = (
    "Name: Ada Lovelace\nStreet: 12 St James's Square\nCity: London\n"
    "Postcode: SW1Y 4JH\nCountry: gb\n"
)


def test_order_lines_share_the_address_block_below_them() -> None:
    parsed = parse_mail(
        "my order",
        'Hi!\nTOKEN 0123abcd\nORDER "Debian 12 netinst" cd-r x2\nORDER cnt-1 DVD+R 1\n'
        + ADDRESS
        + "\nSTATUS ORD-1\nThanks\n-- \nLOG ORD-9\n",
    )
    assert parsed.token == "0123abcd"
    order, status = parsed.commands
    assert order == Order(
        items=(OrderItem("Debian 12 netinst", "CD-R", 2), OrderItem("cnt-1", "DVD+R", 1)),
        ship_to=Address(
            name="Ada Lovelace",
            lines=("12 St James's Square",),
            city="London",
            postal_code="SW1Y 4JH",
            country="GB",
        ),
    )
    assert status == Status("ORD-1")  # LOG after the signature is not read


def test_subject_is_a_command_unless_the_mail_is_a_reply() -> None:
    assert parse_mail("STATUS ORD-7", "").commands == (Status("ORD-7"),)
    assert parse_mail("Re: ORDER x CD-R x1", "").commands == ()
    assert parse_mail("Hello", "> ORDER quoted CD-R x1\nHELP").commands == (Help(),)


def test_operator_commands_parse() -> None:
    parsed = parse_mail("", "loaded pub-2 cdr 100\npause pub-2\nRESUME pub-2\nCATALOG linux  dvd")
    assert parsed.commands == (
        Loaded("pub-2", "CD-R", 100),
        Pause("pub-2"),
        Resume("pub-2"),
        Catalog("linux dvd"),
    )


@pytest.mark.parametrize(
    ("body", "verb", "words"),
    [
        ("ORDER Some disc CD-R\n" + ADDRESS, "ORDER", "number of copies"),
        ("ORDER Some disc CD-X x1\n" + ADDRESS, "ORDER", "unknown media type"),
        ("ORDER Some disc CD-R x0\n" + ADDRESS, "ORDER", "copies must be between"),
        ("ORDER Some disc CD-R x1\nName: Ada\n", "ORDER", "Street:, City:, Country:"),
        ("ORDER Some disc CD-R x1\n" + ADDRESS.replace("gb", "Britain"), "ORDER", "two-letter"),
        ("STATUS", "STATUS", "exactly one order id"),
        ("LOADED pub-2 CD-R many", "LOADED", "how many blanks"),
        ("DEVICES now", "DEVICES", "nothing after it"),
    ],
)
def test_malformed_commands_name_the_problem_and_the_right_syntax(
    body: str, verb: str, words: str
) -> None:
    with pytest.raises(MailSyntaxError) as refused:
        parse_mail("", body)
    assert words in str(refused.value)
    assert refused.value.verb == verb
    assert refused.value.usage == USAGE[verb]


def test_too_many_commands_are_refused() -> None:
    with pytest.raises(MailSyntaxError, match="at most 20 commands"):
        parse_mail("", "HELP\n" * 21)


def test_token_is_found_even_when_the_rest_does_not_parse() -> None:
    assert find_token("", "STATUS\nToken: 00ff\n") == "00ff"
    assert find_token("", "> TOKEN quoted\n") is None


_WORDS = st.sampled_from(
    [
        "ORDER",
        "STATUS",
        "CANCEL",
        "CATALOG",
        "LOG",
        "DEVICES",
        "LOADED",
        "PAUSE",
        "RESUME",
        "HELP",
        "TOKEN",
        "Name:",
        "Street:",
        "City:",
        "Country:",
        "Postcode:",
        "CD-R",
        "x2",
        "3",
        "ORD-1",
        "pub-2",
        "--",
        ">",
        "\n",
        "\n\n",
        " ",
        "\t",
        "Re:",
        "x99999",
        "GB",
        "-- \n",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=60).map(" ".join),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_TEXT, body=_TEXT)
def test_fuzz_parser_raises_only_its_own_error(subject: str, body: str) -> None:
    try:
        parsed = parse_mail(subject, body)
    except MailSyntaxError as error:
        assert str(error)  # every refusal says something
        return
    assert len(parsed.commands) <= 20
    for command in parsed.commands:
        assert command.verb in USAGE
        if isinstance(command, Order):
            assert command.items and all(1 <= i.copies for i in command.items)
