"""`discflow demo` (what `make demo` runs) comes up, burns an order, and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.utils.factories import address
from tests.utils.processes import DISCFLOW, free_port, wait_http

pytestmark = pytest.mark.slow


def test_demo_runs_an_order_to_done_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    env = {**os.environ, "DISCFLOW_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("DISCFLOW_DATABASE_URL", None)  # the embedded default: SQLite in the data folder
    with log.open("wb") as sink:
        demo = subprocess.Popen(
            [*DISCFLOW, "demo", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_http(f"{base}/api/v1/health", timeout=240, process=demo)
        deadline = time.monotonic() + 30
        while "operator token" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        customer = re.search(r"customer token: (\S+)", text)
        assert customer is not None, text
        headers = {"Authorization": f"Bearer {customer.group(1)}"}
        # order once every device has reported in, as an operator watching the floor would
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            devices = httpx.get(f"{base}/api/v1/devices", headers=headers).json()
            if len(devices) == 3 and all(d["availability"] == "online" for d in devices):
                break
            time.sleep(0.5)
        found = httpx.get(
            f"{base}/api/v1/contents", params={"q": "dawn chorus"}, headers=headers
        ).json()
        assert len(found) == 1 and "CD-R" in found[0]["media"]
        order = httpx.post(
            f"{base}/api/v1/orders",
            headers=headers,
            json={
                "requests": [{"content_id": found[0]["id"], "media": "CD-R", "copies": 2}],
                "ship_to": address(),
            },
        ).json()
        deadline = time.monotonic() + 120
        state = order["state"]
        while state != "done" and time.monotonic() < deadline:
            time.sleep(0.5)
            state = httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=headers).json()[
                "state"
            ]
        assert state == "done"
        discs = list((tmp_path / "data" / "demo-agents").rglob("*.iso"))
        assert discs, "the demo's image writers produced no disc image"
        # each copy's printed face beside it, with its own "copy N of 2" (H13, #13)
        faces = [Path(f"{disc}.face.pdf") for disc in discs]
        texts = [subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True,
                                check=True).stdout for f in faces]  # fmt: skip
        assert all("1 of 2" in t or "2 of 2" in t for t in texts)
        assert any("1 of 2" in t for t in texts) and any("2 of 2" in t for t in texts)
    finally:
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        demo.wait(timeout=60)
    assert "demo stopped" in log.read_text()
    agents = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "data" / "demo-agents")], capture_output=True, text=True
    )
    assert agents.stdout.strip() == "", "agent processes outlived the demo"
