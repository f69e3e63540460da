"""Issue #19 items 5, 8, 9, 12d and 13: what the server's edge lets out and in.

Security headers on pages and API answers, the client address behind proxies,
``/metrics``, the devices a customer sees, a body read before the role check,
the OpenAPI's error answers and a chunked body over the limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from discflow import store
from discflow.agent import create_agent_app, parse_config
from discflow.settings import Settings
from discflow.store import Database, Role, create_user
from discflow.web import create_app
from discflow.web._security import forwarded_client, parse_networks
from tests.utils.factories import make_token
from tests.web.conftest import bearer
from tests.web.pages.conftest import PASSWORD, sign_in

FRAMING = ("x-frame-options", "DENY")


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    api_only = settings.model_copy(update={"run_dispatcher": False, "max_json_body_bytes": 10_000})
    with TestClient(create_app(api_only, database=database)) as test_client:
        yield test_client


def _user(database: Database, name: str, role: Role) -> None:
    with database.transaction() as session:
        create_user(session, name, role=role, password=PASSWORD)


def test_pages_carry_a_strict_csp_and_refuse_framing(
    client: TestClient, database: Database
) -> None:
    _user(database, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    for path in ("/signin", "/floor", "/floor/upload", "/orders", "/catalog"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        # the policy would block inline script: there must be none on the page
        assert "<script>" not in page.text and " onclick=" not in page.text


def test_api_answers_and_errors_carry_the_headers_too(client: TestClient) -> None:
    for answer in (
        client.get("/api/v1/health"),
        client.get("/api/v1/orders"),  # 401
        client.get("/nope"),  # 404
        client.post("/api/v1/orders", content=b"x" * 20_000),  # 413 from the size limit
        client.get("/static/site.css"),
    ):
        assert answer.headers.get(FRAMING[0]) == FRAMING[1], answer.request.url
        assert answer.headers.get("x-content-type-options") == "nosniff"
    # a JSON answer needs no CSP; a page does
    assert "content-security-policy" not in client.get("/api/v1/health").headers


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = parse_networks("127.0.0.1, 10.0.0.0/8, ::1")
    # untrusted peer: the header is the client's own words
    assert forwarded_client("203.0.113.5", "1.2.3.4", proxies) == "203.0.113.5"
    # trusted peer: the right-most address that is not a proxy
    assert forwarded_client("127.0.0.1", "1.2.3.4, 198.51.100.7", proxies) == "198.51.100.7"
    assert forwarded_client("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1", proxies) == (
        "198.51.100.7"
    )
    # bypass attempts: IPv6 loopback and v4-mapped v6 are the same proxy; junk is no address
    assert forwarded_client("::ffff:127.0.0.1", "198.51.100.7", proxies) == "198.51.100.7"
    assert forwarded_client("[::1]:4000", "198.51.100.7", proxies) == "198.51.100.7"
    assert forwarded_client("127.0.0.1", "not-an-ip", proxies) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", "", proxies) == "127.0.0.1"
    # no proxies configured: nothing is believed, even from loopback
    assert forwarded_client("127.0.0.1", "198.51.100.7", ()) == "127.0.0.1"


def test_a_bad_trusted_proxy_setting_is_refused_with_its_name() -> None:
    with pytest.raises(Exception, match="DISCFLOW_TRUSTED_PROXIES entry 'proxy.lan'"):
        parse_networks("127.0.0.1, proxy.lan")


def test_metrics_need_an_operator_unless_made_public(
    settings: Settings, client: TestClient, database: Database
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("made-up")).status_code == 401
    customer = make_token(database, "alice")
    assert client.get("/metrics", headers=bearer(customer)).status_code == 403
    operator = make_token(database, "otto", Role.OPERATOR)
    assert client.get("/metrics", headers=bearer(operator)).status_code == 200
    public = settings.model_copy(update={"run_dispatcher": False, "metrics_public": True})
    with TestClient(create_app(public, database=database)) as open_client:
        assert open_client.get("/metrics").status_code == 200


def test_customers_see_media_not_the_floor(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        device, _ = store.register_device(
            session,
            name="pub-1",
            driver="image",
            address="http://10.0.0.7:8101",
            actor="test",
            agent_token="dfa_edge_agent_token",
        )
    customer = make_token(database, "alice")
    operator = make_token(database, "otto", Role.OPERATOR)
    for path in ("/api/v1/devices", "/api/v1/devices/pub-1"):
        seen = client.get(path, headers=bearer(customer))
        assert seen.status_code == 200
        text = seen.text
        for secret in ("10.0.0.7", "drives", "cache", "address", "enrol", "loaded"):
            assert secret not in text, (path, secret)
        full = client.get(path, headers=bearer(operator))
        assert "10.0.0.7" in full.text


def _spec_responses(spec: dict[str, Any], path: str, method: str) -> set[str]:
    return set(spec["paths"][path][method]["responses"])


def test_openapi_documents_the_error_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"400", "401", "403", "409", "413", "422", "429"} <= _spec_responses(
        spec, "/api/v1/orders", "post"
    )
    assert {"401", "403", "404"} <= _spec_responses(spec, "/api/v1/orders/{order_id}", "get")
    assert {"401", "403", "404", "409"} <= _spec_responses(
        spec, "/api/v1/orders/{order_id}/cancel", "post"
    )
    assert "401" not in _spec_responses(spec, "/api/v1/health", "get")


def test_agent_openapi_gives_the_cache_head_a_content_type(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "pub-1",
            "driver": "image",
            "token": "dfa_head_token",
            "cache_dir": str(tmp_path / "cache"),
            "cache_bytes": 100_000,
            "media": {"CD-R": {"loaded": 5, "write_Bps": 7_800_000}},
            "driver_options": {"output_dir": str(tmp_path / "discs")},
        },
        source="test",
    )
    spec = create_agent_app(config).openapi()
    answers = spec["paths"]["/v1/cache/{sha256}"]["head"]["responses"]
    assert "application/octet-stream" in answers["200"]["content"]
    assert "application/json" in answers["404"]["content"]


def test_a_chunked_body_over_the_limit_gets_413_like_a_declared_one(
    client: TestClient, database: Database
) -> None:
    customer = make_token(database, "alice")

    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b" " * 1000

    declared = client.post("/api/v1/orders", content=b" " * 30_000, headers=bearer(customer))
    chunked = client.post("/api/v1/orders", content=chunks(), headers=bearer(customer))
    assert declared.status_code == 413
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["detail"] == declared.json()["detail"]


def test_a_customer_upload_is_refused_before_its_body_is_read(
    settings: Settings, database: Database
) -> None:
    """150 MB of multipart to the operator upload page: 403 after at most the first
    chunk, not after spooling it all (the role check used to follow the form read)."""
    _user(database, "cara", Role.CUSTOMER)
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    with TestClient(app) as signed_in:
        sign_in(signed_in, "cara")  # the no-JS form carries its CSRF token in the body
        cookie = "; ".join(f"{k}={v}" for k, v in signed_in.cookies.items())
    chunk, total = 1 << 20, 150
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * chunk, "more_body": pulled < total}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    boundary = "b0undary"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/floor/upload",
        "raw_path": b"/floor/upload",
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(chunk * total).encode()),
            (b"cookie", cookie.encode()),
        ],
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 403
    assert pulled <= 1, f"{pulled} MB of the body were read before the 403"
