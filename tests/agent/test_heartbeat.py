"""Enrolment and heartbeats against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Header, HTTPException

from .conftest import make_config, running


class Server:
    def __init__(self) -> None:
        self.beats: list[tuple[str | None, dict[str, Any]]] = []
        self.enrolments: list[dict[str, Any]] = []
        app = FastAPI()

        @app.post("/api/v1/agents/enrol")
        async def enrol(body: dict[str, Any]) -> dict[str, str]:
            if body.get("code") != "one-time-42":
                raise HTTPException(403, "bad code")
            self.enrolments.append(body)
            return {"token": "issued-token"}

        @app.post("/api/v1/devices/{name}/heartbeat")
        async def beat(
            name: str, body: dict[str, Any], authorization: str | None = Header(None)
        ) -> dict[str, str]:
            self.beats.append((authorization, body))
            return {"ok": name}

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning"))


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.server.run, daemon=True)
    thread.start()
    while not srv.server.started:
        time.sleep(0.01)
    yield srv
    srv.server.should_exit = True
    thread.join(5)


async def test_enrols_then_sends_its_status_as_heartbeat(tmp_path: Path, server: Server) -> None:
    token_file = tmp_path / "secret" / "token"
    config = make_config(
        tmp_path,
        token=None,
        token_file=str(token_file),
        enrol_code="one-time-42",
        server_url=f"http://127.0.0.1:{server.port}",
        heartbeat_s=0.05,
    )
    async with running(config) as client:
        client.headers["Authorization"] = "Bearer issued-token"
        for _ in range(200):
            if server.beats:
                break
            await asyncio.sleep(0.02)
        status = (await client.get("/v1/status")).json()
    assert server.enrolments == [
        {"code": "one-time-42", "name": "pub-1", "address": "http://127.0.0.1:8101"}
    ]
    assert token_file.read_text() == "issued-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    auth, body = server.beats[-1]
    assert auth == "Bearer issued-token"
    assert body.keys() == status.keys()
    assert body["name"] == "pub-1" and body["availability"] == "online"
    assert body["media"][0]["media"] == "CD-R" and body["drives"][0]["state"] == "idle"


async def test_keeps_working_while_the_server_is_away(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    config = make_config(tmp_path, server_url=f"http://127.0.0.1:{dead}", heartbeat_s=0.02)
    async with running(config) as client:
        await asyncio.sleep(0.3)
        agent = client.app.state.agent  # type: ignore[attr-defined]
        assert agent.heartbeat.failures >= 1
        assert agent.heartbeat.delay() > config.heartbeat_s  # backing off
        assert (await client.get("/v1/status")).status_code == 200
