"""A robot's error states travel: stand-in -> agent -> heartbeat -> server -> device record.

The real discflow server (uvicorn on loopback, the test database) and a real agent
enrolled with it; the PTBurn stand-in opens its cover and runs low on cyan ink
(PTBurn 3 SDK 3.2.5.2 SystemStatus, 3.1.3.9 CartridgeFillX). The issue asks for the
reasons on ``GET /api/v1/devices/{name}`` within 10 s.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.web import create_app
from tests.utils.factories import make_token

from .conftest import make_config, running
from .robots import standin, write_control


@pytest.fixture
def server(settings: Settings, database: Database) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


async def test_robot_reasons_reach_the_servers_device_record(
    tmp_path: Path, server: str, database: Database
) -> None:
    operator = {"Authorization": f"Bearer {make_token(database, 'olga', Role.OPERATOR)}"}
    async with httpx.AsyncClient(base_url=server, headers=operator) as api:
        created = await api.post(
            "/api/v1/devices",
            json={"name": "pub-3", "driver": "ptburn", "address": "http://127.0.0.1:8103"},
        )
        assert created.status_code == 201, created.text
        jobs = tmp_path / "PTBurnJobs"
        with standin("ptburn", jobs):
            cfg = make_config(
                tmp_path,
                name="pub-3",
                driver="ptburn",
                listen="127.0.0.1:8103",
                token=None,
                token_file=str(tmp_path / "token"),
                enrol_code=created.json()["enrol_code"],
                server_url=server,
                heartbeat_s=0.5,
                status_poll_s=0.2,
                media={"CD-R": {"loaded": 50, "write_Bps": 7_800_000}},
                driver_options={"jobs_dir": str(jobs)},
            )
            async with running(cfg):
                write_control(jobs, ink={"3": 8}, system_status="Cover Open")
                record = await _until(
                    api,
                    lambda r: (
                        {x["reason"] for x in r["reasons"]} >= {"cover-open", "marker-supply-low"}
                    ),
                )
    messages = {r["reason"]: r["message"] for r in record["reasons"]}
    assert messages["cover-open"] == "pub-3: Cover Open"
    assert messages["marker-supply-low"] == "pub-3: cyan ink 8 %"
    assert record["availability"] == "error"


async def _until(api: httpx.AsyncClient, done: Any, timeout: float = 10.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = (await api.get("/api/v1/devices/pub-3")).json()
        if done(record):
            return record
        if time.monotonic() > end:
            raise AssertionError(f"the device record never showed it: {record}")
        await asyncio.sleep(0.1)
