"""Hostile callers: tokens in the wrong place, paths that climb out, bodies too big,
and secrets that must not be readable from the database file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from discflow import store
from discflow.agent import create_agent_app, parse_config
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.store._tables import ApiToken
from discflow.web import create_app
from tests.utils.factories import address, make_token

AGENT_TOKEN = "dfa_attack_agent_token_0123456789"


@pytest.fixture
def server(settings: Settings, database: Database) -> Iterator[TestClient]:
    small = settings.model_copy(
        update={"run_dispatcher": False, "max_json_body_bytes": 10_000, "max_upload_bytes": 50_000}
    )
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="image",
            address="http://127.0.0.1:9",
            actor="test",
            agent_token=AGENT_TOKEN,
        )
    with TestClient(create_app(small, database=database)) as client:
        yield client


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[TestClient]:
    config = parse_config(
        {
            "name": "pub-1",
            "driver": "image",
            "token": AGENT_TOKEN,
            "cache_dir": str(tmp_path / "cache"),
            "cache_bytes": 100_000,
            "media": {"CD-R": {"loaded": 5, "write_Bps": 7_800_000}},
            "driver_options": {"output_dir": str(tmp_path / "discs")},
        },
        source="test",
    )
    with TestClient(create_agent_app(config)) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- tokens in the wrong place -----------------------------------------------------


def test_agent_refuses_every_server_user_token(agent: TestClient, database: Database) -> None:
    for role in Role:
        token = make_token(database, f"user-{role.value}", role)
        for method, path in (
            ("GET", "/v1/status"),
            ("GET", "/v1/jobs"),
            ("GET", "/v1/cache"),
            ("POST", "/v1/media"),
        ):
            response = agent.request(method, path, headers=_bearer(token), json={})
            assert response.status_code == 401, (role, path, response.text)
    assert agent.get("/v1/status", headers=_bearer(AGENT_TOKEN)).status_code == 200


def test_server_refuses_agent_token_for_user_endpoints(server: TestClient) -> None:
    headers = _bearer(AGENT_TOKEN)
    order = {
        "requests": [{"content_id": "cnt-x", "media": "CD-R", "copies": 1}],
        "ship_to": address(),
    }
    assert server.post("/api/v1/orders", json=order, headers=headers).status_code == 403
    assert server.get("/api/v1/orders", headers=headers).status_code == 403
    assert server.post("/api/v1/devices/pub-1/pause", headers=headers).status_code == 403


def test_a_user_token_cannot_heartbeat_for_a_device(server: TestClient, database: Database) -> None:
    token = make_token(database, "otto", Role.ADMIN)
    beat = {
        "name": "pub-1",
        "driver": "image",
        "availability": "online",
        "drives": [],
        "media": [],
        "cache": [],
        "cache_capacity_bytes": 0,
        "cache_free_bytes": 0,
    }
    response = server.post("/api/v1/devices/pub-1/heartbeat", json=beat, headers=_bearer(token))
    assert response.status_code == 401


def test_malformed_authorization_headers_are_refused(server: TestClient) -> None:
    for value in (
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer  \t",
        "Token abc",
        "Bearer ' OR 1=1 --",
    ):
        response = server.get("/api/v1/orders", headers={"Authorization": value})
        assert response.status_code == 401, value


# -- tokens stored hashed --------------------------------------------------------------


def test_user_tokens_are_stored_hashed(database: Database, database_url: str) -> None:
    token = make_token(database, "alice", Role.CUSTOMER)
    with database.transaction() as session:
        hashes = [row.token_hash for row in session.scalars(select(ApiToken))]
    assert hashes and token not in hashes
    assert all(len(h) == 64 for h in hashes)
    if database_url.startswith("sqlite:///"):
        database.dispose()  # flush the WAL into the file
        raw = Path(database_url.removeprefix("sqlite:///")).read_bytes()
        assert token.encode() not in raw, "the clear token is readable in the database file"


# -- paths that climb out ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fobjects",
        "../" * 8 + "x",
        "a" * 63 + "/",
        "0" * 64 + "%00",
        "%2Fetc%2Fpasswd" + "0" * 50,
    ],
)
def test_cache_names_that_are_paths_are_refused(
    agent: TestClient, tmp_path: Path, name: str
) -> None:
    headers = _bearer(AGENT_TOKEN)
    for method in ("HEAD", "PUT", "DELETE", "GET"):
        path = f"/v1/cache/{name}" + ("/partial" if method == "GET" else "")
        response = agent.request(method, path, headers=headers, content=b"x" * 10)
        assert response.status_code in (404, 405, 422), (method, path, response.status_code)
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and "cache" not in p.parts]
    assert not [p for p in outside if p.name in ("x", "passwd", "objects")]


def test_content_ids_that_are_paths_find_nothing(server: TestClient, database: Database) -> None:
    token = _bearer(make_token(database, "otto", Role.OPERATOR))
    for name in ("..%2F..%2Fdiscflow.db", "%2e%2e", "..", "blobs%2Fsha256"):
        response = server.get(f"/api/v1/contents/{name}/image", headers=token)
        assert response.status_code in (404, 422), (name, response.status_code)
        assert b"SQLite" not in response.content


def test_job_ids_cannot_name_files_outside(agent: TestClient, tmp_path: Path) -> None:
    # ('..' alone passes the id pattern, but file names come from _order_id, which
    # keeps only letters, digits, '-' and '_')
    for job_id in ("../../evil", "a/b", "x\\..\\y", "/abs"):
        body = {"job_id": job_id, "content_sha256": "0" * 64, "media": "CD-R", "copies": 1}
        response = agent.post("/v1/jobs", json=body, headers=_bearer(AGENT_TOKEN))
        assert response.status_code == 422, (job_id, response.text)
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


# -- bodies too big ------------------------------------------------------------------------


def test_oversized_json_body_is_refused_before_parsing(
    server: TestClient, database: Database
) -> None:
    token = _bearer(make_token(database, "alice", Role.CUSTOMER))
    huge = {
        "requests": [{"content_id": "cnt-x", "media": "CD-R", "copies": 1}] * 2000,
        "ship_to": address(),
    }
    response = server.post("/api/v1/orders", json=huge, headers=token)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_streamed_upload_past_the_limit_is_cut_off(server: TestClient, database: Database) -> None:
    token = _bearer(make_token(database, "otto", Role.OPERATOR))

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"\0" * 4096  # 400 kB without a Content-Length, limit 50 kB

    response = server.post(
        "/api/v1/contents",
        params={"title": "big"},
        content=chunks(),
        headers={**token, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 413
    spool = Path(server.app.state.settings.archive_dir) / "incoming"  # type: ignore[attr-defined]
    assert not list(spool.glob("*")) if spool.exists() else True


def test_agent_upload_larger_than_announced_is_refused(agent: TestClient) -> None:
    headers = {**_bearer(AGENT_TOKEN), "Content-Type": "application/octet-stream"}
    too_big = agent.put(f"/v1/cache/{'1' * 64}", content=b"x" * 200_000, headers=headers)
    assert too_big.status_code == 507
    status = agent.get("/v1/status", headers=_bearer(AGENT_TOKEN)).json()
    assert status["cache_free_bytes"] == 100_000


def test_no_5xx_on_garbage_json(server: TestClient, agent: TestClient, database: Database) -> None:
    token = _bearer(make_token(database, "alice", Role.CUSTOMER))
    for body in (b"{", b"\xff\xfe", b"[]" * 1000, b'{"requests": null}', b"nan"):
        response = server.post(
            "/api/v1/orders", content=body, headers={**token, "Content-Type": "application/json"}
        )
        assert response.status_code in (413, 422), (body[:10], response.status_code)
        response = agent.post(
            "/v1/jobs",
            content=body,
            headers={**_bearer(AGENT_TOKEN), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (body[:10], response.status_code)


def test_transport_level_secrets_are_not_echoed(server: TestClient) -> None:
    secret = "dfu_this_is_not_a_real_token_but_looks_like_one"
    response = server.get("/api/v1/orders", headers=_bearer(secret))
    assert response.status_code == 401
    assert secret not in response.text
    assert isinstance(httpx.Headers(response.headers).get("www-authenticate"), str)
