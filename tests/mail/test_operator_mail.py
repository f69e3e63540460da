"""An operator's LOADED, PAUSE and RESUME by mail reach the real device agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.settings import Settings
from discflow.store import Database, Role
from tests.mail.conftest import Relay, compose, make_account, send
from tests.utils.factories import make_token
from tests.web.conftest import bearer


@pytest.fixture
def fleet(database: Database, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(database, tmp_path / "agents", server_url="http://127.0.0.1:9")
    fleet.add(DeviceSpec("pub-2", "image", 1, {"CD-R": MediaSpec(5, 7_800_000)}))
    fleet.start("pub-2")
    try:
        fleet.wait_ready()
        yield fleet
    finally:
        fleet.stop_all()


def test_operator_loads_media_and_pauses_by_mail(
    server: TestClient, mail_settings: Settings, database: Database, relay: Relay, fleet: Fleet
) -> None:
    olga = make_account(database, "olga", Role.OPERATOR)
    send(
        mail_settings,
        compose(
            olga.email,
            f"TOKEN {olga.mail_token}\nLOADED pub-2 cd-r 100\nLOADED pub-2 DVD-R 5\nPAUSE pub-2\n",
        ),
    )
    [reply] = relay.wait_for(1, to=olga.email)
    text = reply.get_content()
    assert "Recorded: 100 CD-R loaded into pub-2; 105 CD-R blanks there now." in text
    assert "Refused:" in text and "DVD-R" in text  # the agent has no DVD-R bin
    assert "pub-2 paused" in text

    agent = fleet.agents["pub-2"]
    token = agent.config.read_text().split('token = "')[1].split('"')[0]
    status = httpx.get(f"{agent.url}/v1/status", headers=bearer(token)).json()
    assert [m["loaded"] for m in status["media"] if m["media"] == "CD-R"] == [105]

    api = bearer(make_token(database, "olga", Role.OPERATOR))
    assert server.get("/api/v1/devices/pub-2", headers=api).json()["availability"] == "paused"
    events = server.get("/api/v1/events?device=pub-2", headers=api).json()
    assert [e["type"] for e in events][-2:] == ["media.reloaded", "device.paused"]
    assert events[-2]["actor"] == "olga"

    send(mail_settings, compose(olga.email, f"TOKEN {olga.mail_token}\nRESUME pub-2\nDEVICES"))
    second = relay.wait_for(2, to=olga.email)[1].get_content()
    assert "pub-2 resumed." in second
    # the record itself is refreshed by heartbeats, which this test's agent cannot send
    assert "pub-2 (image): resuming (at its next heartbeat)" in second
