"""The agent process killed mid-job: after restart, interrupted copies, no false goods."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import AUTH, content


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from discflow.cli import main; main()",
            "agent",
            "--config",
            str(config),
            "--log-level",
            "warning",
        ],
    )


def wait_up(base: str) -> None:
    for _ in range(200):
        try:
            httpx.get(f"{base}/v1/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("agent did not start")


def test_killed_agent_reports_interrupted_copies_after_restart(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(f"""
name = "pub-k"
driver = "sim"
listen = "127.0.0.1:{port}"
token = "test-token"
cache_dir = "cache"
cache_bytes = 10_000_000
drives = 1
poll_s = 0.02

[media.CD-R]
loaded = 20
write_Bps = 1_000
overhead_s = 0

[driver_options]
time_scale = 1.0
""")
    base = f"http://127.0.0.1:{port}"
    data, sha = content(3000)  # 3 s per disc at 1000 B/s
    proc = start(config)
    try:
        wait_up(base)
        with httpx.Client(base_url=base, headers=AUTH) as client:
            assert client.put(f"/v1/cache/{sha}", content=data).status_code == 201
            client.post(
                "/v1/jobs",
                json={
                    "job_id": "k1",
                    "content_sha256": sha,
                    "media": "CD-R",
                    "copies": 2,
                    "verify": False,
                },
            )
            for _ in range(100):
                if client.get("/v1/jobs/k1").json()["copies"][0]["state"] == "writing":
                    break
                time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    proc = start(config)
    try:
        wait_up(base)
        with httpx.Client(base_url=base, headers=AUTH) as client:
            body = client.get("/v1/jobs/k1").json()
            status = client.get("/v1/status").json()
            listed = client.get("/v1/jobs").json()
    finally:
        proc.terminate()
        proc.wait()
    assert body["state"] == "interrupted"
    assert {c["state"] for c in body["copies"]} == {"interrupted"}
    assert body["good"] == 0
    assert listed == [{"job_id": "k1", "state": "interrupted"}]
    media = status["media"][0]
    # the disc that was in the drive is spent and not verified: counted failed
    assert (media["loaded"], media["used_good"], media["used_failed"], media["in_drive"]) == (
        19,
        0,
        1,
        0,
    )
    assert [e["sha256"] for e in status["cache"]] == [sha]
