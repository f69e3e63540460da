"""Issue #19 items 12, 12b and 12c: what an order or a device record may hold, and how
much one customer may order.

- 12: an address with U+2028, U+0085, DEL or U+200B used to be accepted and the
  label failed after the discs were burned; now refused at order time.
- 12b: ``device add`` / enrol stored a link-local metadata URL and a newline.
- 12c: 100 requests x 1,000 copies were accepted from any customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from discflow import store
from discflow.cli import _register
from discflow.cli import app as cli
from discflow.domain import Address, check_device_address
from discflow.errors import InvalidInput
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.web import create_app
from tests.utils.factories import address, make_content, make_token
from tests.web.conftest import bearer


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    limited = settings.model_copy(
        update={"run_dispatcher": False, "quota_copies_per_day": 50, "quota_open_orders": 3}
    )
    with TestClient(create_app(limited, database=database)) as test_client:
        yield test_client


def _order(content: str, copies: int, requests: int = 1, **ship: Any) -> dict[str, Any]:
    return {
        "requests": [{"content_id": content, "media": "CD-R", "copies": copies}] * requests,
        "ship_to": address(**ship),
    }


# -- 12: characters no label prints ------------------------------------------------------

UNPRINTABLE = {
    "\u2028": "U+2028",  # line separator
    "\u2029": "U+2029",  # paragraph separator
    "\x85": "U+0085",  # next line (C1)
    "\x7f": "U+007F",  # DEL
    "\u200b": "U+200B",  # zero-width space
    "\u202e": "U+202E",  # right-to-left override
    "\ufeff": "U+FEFF",  # byte-order mark
    "\ue000": "U+E000",  # private use
    "\r": "U+000D",
}


@pytest.mark.parametrize("char", list(UNPRINTABLE))
@pytest.mark.parametrize("field", ["name", "city", "postal_code", "line"])
def test_an_address_no_label_can_print_is_refused_at_order_time(
    client: TestClient, database: Database, char: str, field: str
) -> None:
    customer = make_token(database, "alice")
    content = make_content(database, "Field Recordings", 100_000_000)
    value = f"Ada{char}Lovelace"
    ship = {"lines": [value]} if field == "line" else {field: value}
    answer = client.post(
        "/api/v1/orders", json=_order(content, 1, **ship), headers=bearer(customer)
    )
    assert answer.status_code == 422, answer.text
    assert UNPRINTABLE[char] in answer.json()["detail"]
    with database.transaction() as session:
        assert store.list_orders(session, store.Principal(None, "x", Role.ADMIN)) == []


@pytest.mark.parametrize("text", ["Café 🎵", "محمد", "김민준", "𝔸𝕕𝕒"])
def test_an_address_no_shipped_font_draws_is_refused_at_order_time(
    client: TestClient, database: Database, text: str
) -> None:
    """Printable characters, but not in any label font: the label would fail after the
    discs were burned, so the order is refused now."""
    customer = make_token(database, "alice")
    content = make_content(database, "Field Recordings", 100_000_000)
    answer = client.post(
        "/api/v1/orders", json=_order(content, 1, name=text), headers=bearer(customer)
    )
    assert answer.status_code == 422, answer.text
    assert "no label font" in answer.json()["detail"]


def test_letters_of_every_script_the_labels_draw_still_pass(
    client: TestClient, database: Database
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)  # no quota in the way
    content = make_content(database, "Field Recordings", 100_000_000)
    for name in ("Zoë Ångström", "Ђорђе", "Αλέξανδρος", "山田 太郎", "O'Brien-Smith"):
        Address(name=name, lines=("1 Road",), city="Town", postal_code="1", country="GB")
        answer = client.post(
            "/api/v1/orders", json=_order(content, 1, name=name), headers=bearer(operator)
        )
        assert answer.status_code == 201, (name, answer.text)


# -- 12b: device addresses ----------------------------------------------------------------

BAD_ADDRESSES = [
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.169.254",
    "http://[fe80::1]:80",
    "http://[::ffff:169.254.169.254]:80",
    "http://2852039166:80",  # 169.254.169.254 as one number
    "http://0xa9fea9fe",
    "http://127.0.0.1:8101\n",
    "http://127.0.0.1:8101\r\nX-Injected: 1",
    "http://127.0.0.1:8101/\x00",
    "http://user:pw@127.0.0.1:8101",
    "http://127.0.0.1:8101/path",
    "http://127.0.0.1:8101?x=1",
    "http://127.0.0.1:0",
    "http://127.0.0.1:65536",
    "file:///etc/passwd",
    "gopher://127.0.0.1:70",
    "http://0.0.0.0:8101",
    "http://ex\u200bample.org:8101",
    "http://ｅｘａｍｐｌｅ.org:8101",  # fullwidth look-alikes
    "http://127.0.0.1:８１０１",  # fullwidth digits
    "http:// 127.0.0.1:8101",
    "",
]


@pytest.mark.parametrize("bad", BAD_ADDRESSES)
def test_device_addresses_must_be_http_host_and_port(bad: str) -> None:
    with pytest.raises(InvalidInput, match="http://host:port"):
        check_device_address(bad)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://127.0.0.1:8101/", "http://127.0.0.1:8101"),
        ("HTTPS://Pub-1.Example.org:443", "https://pub-1.example.org:443"),
        ("http://[::1]:8101", "http://[::1]:8101"),
        ("http://localhost", "http://localhost"),
    ],
)
def test_good_device_addresses_are_kept_normalised(given: str, kept: str) -> None:
    assert check_device_address(given) == kept


def test_the_api_the_cli_and_enrolment_all_refuse_a_bad_address(
    client: TestClient, database: Database
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    body = {"name": "pub-1", "driver": "image", "address": "http://169.254.169.254"}
    refused = client.post("/api/v1/devices", json=body, headers=bearer(operator))
    assert refused.status_code == 422 and "link-local" in refused.json()["detail"]
    _register()
    cli_refused = CliRunner().invoke(
        cli, ["device", "add", "pub-2", "--driver", "image", "--address", "http://h:1\nx"]
    )
    assert cli_refused.exit_code != 0
    good = {"name": "pub-3", "driver": "image", "address": "http://127.0.0.1:8103"}
    code = client.post("/api/v1/devices", json=good, headers=bearer(operator)).json()["enrol_code"]
    enrol = {"code": code, "name": "pub-3", "address": "http://127.0.0.1:8103\r\nX: y"}
    assert client.post("/api/v1/agents/enrol", json=enrol).status_code == 422
    with database.transaction() as session:
        names = [d.name for d in store.list_devices(session)]
        assert names == ["pub-3"]
        assert store.get_device(session, "pub-3").address == "http://127.0.0.1:8103"


# -- 12c: quotas --------------------------------------------------------------------------


def test_an_order_past_the_daily_copies_is_refused_whole(
    client: TestClient, database: Database
) -> None:
    """The issue's 100 x 1,000 copies; here 20 x 1,000 with 50 a day allowed: 422, as it
    could never fit, and it says which setting decides."""
    customer = make_token(database, "alice")
    content = make_content(database, "Field Recordings", 100_000_000)
    answer = client.post(
        "/api/v1/orders", json=_order(content, 1000, requests=20), headers=bearer(customer)
    )
    assert answer.status_code == 422
    assert "DISCFLOW_QUOTA_COPIES_PER_DAY" in answer.json()["detail"]


def test_orders_past_the_daily_copies_wait_with_retry_after(
    client: TestClient, database: Database
) -> None:
    customer = make_token(database, "alice")
    content = make_content(database, "Field Recordings", 100_000_000)
    keyed = {**bearer(customer), "Idempotency-Key": "k1"}
    first = client.post("/api/v1/orders", json=_order(content, 30), headers=keyed)
    assert first.status_code == 201
    second = client.post("/api/v1/orders", json=_order(content, 30), headers=bearer(customer))
    assert second.status_code == 429
    assert 0 < int(second.headers["retry-after"]) <= 86_400
    assert "30 copies in the last 24 hours" in second.json()["detail"]
    # what still fits is taken; then nothing more
    fits = client.post("/api/v1/orders", json=_order(content, 20), headers=bearer(customer))
    assert fits.status_code == 201
    one_more = client.post("/api/v1/orders", json=_order(content, 1), headers=bearer(customer))
    assert one_more.status_code == 429
    # a retry of the first POST (same key, same body) is a replay, not a new order
    replay = client.post("/api/v1/orders", json=_order(content, 30), headers=keyed)
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    # the quota is per account: another customer orders freely
    other = make_token(database, "bob")
    assert (
        client.post("/api/v1/orders", json=_order(content, 50), headers=bearer(other)).status_code
        == 201
    )


def test_open_orders_are_capped_and_cancelling_frees_a_place(
    client: TestClient, database: Database
) -> None:
    customer = make_token(database, "alice")
    content = make_content(database, "Field Recordings", 100_000_000)
    placed = [
        client.post("/api/v1/orders", json=_order(content, 1), headers=bearer(customer))
        for _ in range(3)
    ]
    assert [p.status_code for p in placed] == [201] * 3
    fourth = client.post("/api/v1/orders", json=_order(content, 1), headers=bearer(customer))
    assert fourth.status_code == 429 and "DISCFLOW_QUOTA_OPEN_ORDERS" in fourth.json()["detail"]
    order_id = placed[0].json()["id"]
    cancel = client.post(f"/api/v1/orders/{order_id}/cancel", headers=bearer(customer))
    assert cancel.status_code == 200, cancel.text
    again = client.post("/api/v1/orders", json=_order(content, 1), headers=bearer(customer))
    assert again.status_code == 201


def test_operators_are_not_held_by_customer_quotas(client: TestClient, database: Database) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    content = make_content(database, "Field Recordings", 100_000_000)
    for _ in range(4):
        answer = client.post("/api/v1/orders", json=_order(content, 40), headers=bearer(operator))
        assert answer.status_code == 201


def test_concurrent_orders_of_one_account_cannot_overrun_the_quota(database: Database) -> None:
    """Twelve orders of 10 copies at once against 50 a day: the check and the insert
    of one order are not interleaved with another's, so at most five get in."""
    from concurrent.futures import ThreadPoolExecutor

    from discflow.errors import QuotaExceeded
    from discflow.store import OrderLine, OrderQuota

    content = make_content(database, "Field Recordings", 100_000_000)
    with database.transaction() as session:
        user = store.ensure_user(session, "alice", role=Role.CUSTOMER)
        principal = store.Principal(user.id, "alice", Role.CUSTOMER)
    ship = Address(name="Ada", lines=("1 Road",), city="Town", postal_code="1", country="GB")
    quota = OrderQuota(copies_per_day=50, open_orders=0)

    def place(_: int) -> str:
        try:
            with database.transaction() as session:
                store.place_order(
                    session, principal, [OrderLine(content, "CD-R", 10)], ship, quota=quota
                )
            return "placed"
        except QuotaExceeded:
            return "refused"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(place, range(12)))
    assert outcomes.count("placed") == 5, outcomes
    with database.transaction() as session:
        admin = store.Principal(None, "root", Role.ADMIN)
        assert sum(r.copies for o in store.list_orders(session, admin) for r in o.requests) == 50
