"""Operator actions reach the real device agent: media loaded, pause and resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Role
from tests.utils.factories import make_token
from tests.web.conftest import bearer


@pytest.fixture
def fleet(database: Database, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(database, tmp_path / "agents", server_url="http://127.0.0.1:9")
    fleet.add(DeviceSpec("pub-9", "image", 1, {"CD-R": MediaSpec(5, 7_800_000)}))
    fleet.start("pub-9")
    try:
        fleet.wait_ready()
        yield fleet
    finally:
        fleet.stop_all()


def test_media_loaded_pause_and_resume(
    client: TestClient, database: Database, fleet: Fleet
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    customer = make_token(database, "alice")
    body = {"media": "cd-r", "count": 50}
    assert (
        client.post("/api/v1/devices/pub-9/media", json=body, headers=bearer(customer)).status_code
        == 403
    )
    loaded = client.post("/api/v1/devices/pub-9/media", json=body, headers=bearer(operator))
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["loaded"] == 55

    agent = fleet.agents["pub-9"]
    token = agent.config.read_text().split('token = "')[1].split('"')[0]
    status = httpx.get(f"{agent.url}/v1/status", headers=bearer(token)).json()
    assert [m["loaded"] for m in status["media"] if m["media"] == "CD-R"] == [55]

    refused = client.post(
        "/api/v1/devices/pub-9/media", json={"media": "DVD-R", "count": 5}, headers=bearer(operator)
    )
    assert refused.status_code in (409, 422), refused.text
    assert "DVD-R" in refused.json()["detail"]

    assert client.post("/api/v1/devices/pub-9/pause", headers=bearer(operator)).status_code == 204
    record = client.get("/api/v1/devices/pub-9", headers=bearer(operator)).json()
    assert record["availability"] == "paused"
    assert client.post("/api/v1/devices/pub-9/resume", headers=bearer(operator)).status_code == 204
    events = client.get("/api/v1/events?device=pub-9", headers=bearer(operator)).json()
    assert [e["type"] for e in events][-3:] == ["media.reloaded", "device.paused", "device.resumed"]
