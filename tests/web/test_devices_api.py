from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from discflow.store import Database, Role
from tests.utils.factories import make_token
from tests.web.conftest import bearer

SHA = "ab" * 32


def _status(**changes: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": "pub-1",
        "driver": "image",
        "address": "http://127.0.0.1:8101",
        "availability": "online",
        "drives": [
            {"index": 0, "state": "idle"},
            {"index": 1, "state": "writing", "job_id": "J1", "progress": 0.5},
        ],
        "media": [
            {
                "media": "CD-R",
                "loaded": 90,
                "write_Bps": 7_800_000,
                "overhead_s": 60,
                "low_threshold": 10,
                "loaded_total": 100,
                "used_good": 9,
                "used_failed": 1,
            }
        ],
        "cache": [{"sha256": SHA, "size_bytes": 1000, "last_used": 5.0}],
        "cache_capacity_bytes": 10_000,
        "cache_free_bytes": 9_000,
        "link_Bps": 50_000_000,
    }
    status.update(changes)
    return status


def test_register_enrol_heartbeat_and_read_the_record(
    client: TestClient, database: Database
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    customer = make_token(database, "alice")
    body = {"name": "pub-1", "driver": "image", "address": "http://127.0.0.1:8101"}
    assert client.post("/api/v1/devices", json=body, headers=bearer(customer)).status_code == 403
    created = client.post("/api/v1/devices", json=body, headers=bearer(operator))
    assert created.status_code == 201, created.text
    code = created.json()["enrol_code"]
    assert created.json()["availability"] == "offline"

    wrong = client.post("/api/v1/agents/enrol", json={"code": "nope", "name": "pub-1"})
    assert wrong.status_code == 403
    enrolled = client.post("/api/v1/agents/enrol", json={"code": code, "name": "pub-1"})
    assert enrolled.status_code == 200
    agent_token = enrolled.json()["token"]
    reused = client.post("/api/v1/agents/enrol", json={"code": code, "name": "pub-1"})
    assert reused.status_code == 403, "an enrolment code works once"

    # a customer's token cannot pose as the agent
    beat = client.post("/api/v1/devices/pub-1/heartbeat", json=_status(), headers=bearer(customer))
    assert beat.status_code == 401
    beat = client.post(
        "/api/v1/devices/pub-1/heartbeat", json=_status(), headers=bearer(agent_token)
    )
    assert beat.status_code == 204, beat.text

    record = client.get("/api/v1/devices/pub-1", headers=bearer(operator)).json()
    assert record["availability"] == "online"
    assert record["drive_count"] == 2
    assert record["drives"][1]["state"] == "writing"
    assert record["media"][0]["loaded"] == 90
    assert record["cache"][0]["sha256"] == SHA
    assert record["cache_free_bytes"] == 9_000
    assert record["address"] == "http://127.0.0.1:8101"

    # reload and eviction show up in the task log
    reloaded = _status(cache=[], cache_free_bytes=10_000)
    reloaded["media"][0].update(loaded=190, loaded_total=200)
    client.post("/api/v1/devices/pub-1/heartbeat", json=reloaded, headers=bearer(agent_token))
    events = client.get("/api/v1/events?device=pub-1", headers=bearer(operator)).json()
    types = [e["type"] for e in events]
    assert types == [
        "device.registered",
        "device.enrolled",
        "device.online",
        "content.cached",
        "media.loaded",
        "content.evicted",
    ]
    assert events[4]["data"] == {"media": "CD-R", "count": 100}


def test_bad_device_input(client: TestClient, database: Database) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    for body, words in [
        ({"name": "Pub 1", "driver": "image", "address": "http://x:1"}, "lowercase"),
        ({"name": "pub-1", "driver": "laser", "address": "http://x:1"}, "unknown driver"),
        ({"name": "pub-1", "driver": "image", "address": "ftp://x"}, "http://host:port"),
    ]:
        response = client.post("/api/v1/devices", json=body, headers=bearer(operator))
        assert response.status_code == 422 and words in response.json()["detail"]
    assert client.get("/api/v1/devices/nope", headers=bearer(operator)).status_code == 404
