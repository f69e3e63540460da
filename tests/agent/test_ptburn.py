"""The ptburn driver against a stand-in process playing PTBurn's documented side."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import content, final, make_config, running, upload, wait_for

STANDIN = Path(__file__).parent / "standins" / "ptburn.py"


@pytest.fixture
def ptburn(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    jobs = tmp_path / "PTBurnJobs"
    jobs.mkdir()
    extra = getattr(request, "param", [])
    proc = subprocess.Popen([sys.executable, str(STANDIN), "--jobs-dir", str(jobs), *extra])
    try:
        yield jobs
    finally:
        proc.kill()
        proc.wait()


def config(tmp_path: Path, jobs: Path, **kw: object):  # type: ignore[no-untyped-def]
    return make_config(
        tmp_path,
        driver="ptburn",
        drives=2,
        driver_options={"jobs_dir": str(jobs), "robot_name": "Disc Publisher SE"},
        **kw,
    )


@pytest.mark.parametrize("ptburn", [["--fail-every", "2"]], indirect=True)
async def test_jrq_job_runs_and_rejects_are_replaced(tmp_path: Path, ptburn: Path) -> None:
    data, _ = content(200_000)
    async with running(config(tmp_path, ptburn)) as client:
        sha = await upload(client, data)
        await client.post(
            "/v1/jobs",
            json={
                "job_id": "order-7",
                "content_sha256": sha,
                "media": "CD-R",
                "copies": 3,
                "volume_name": "VOL7",
            },
        )
        body = await wait_for(client, "order-7", final, timeout=20)
        status = (await client.get("/v1/status")).json()
    assert body["state"] == "done"
    states = [c["state"] for c in body["copies"]]
    assert states.count("good") == 3 and states.count("failed-verify") >= 1
    media = status["media"][0]
    assert media["used_good"] == 3 and media["used_failed"] == states.count("failed-verify")
    assert status["device_message"] in ("Idle", "Busy", "starting")
    done = sorted(ptburn.glob("*.DON"))
    assert done, "PTBurn renamed no job to .DON"
    keys = dict(line.split("=", 1) for line in done[0].read_text().splitlines())
    assert keys["ClientID"] == "discflow" and keys["VerifyDisc"] == "YES"
    assert keys["VolumeName"] == "VOL7" and keys["DeleteFiles"] == "YES"
    assert keys["ImageFile"].endswith(".iso") and len(keys["JobID"]) <= 32
    assert not Path(keys["ImageFile"]).exists()  # PTBurn deleted the job folder


@pytest.mark.parametrize("ptburn", [["--discs", "1"]], indirect=True)
async def test_out_of_discs_pauses_until_the_bin_is_refilled(tmp_path: Path, ptburn: Path) -> None:
    data, _ = content(1000)
    async with running(config(tmp_path, ptburn)) as client:
        sha = await upload(client, data)
        await client.post(
            "/v1/jobs", json={"job_id": "j", "content_sha256": sha, "media": "CD-R", "copies": 2}
        )
        paused = await wait_for(client, "j", lambda b: b["state"] == "paused", timeout=20)
        assert "Out of Discs" in paused["error"]
        (ptburn / "_standin_load").write_text("5")
        await client.post("/v1/media", json={"media": "CD-R", "count": 5})
        body = await wait_for(client, "j", final, timeout=20)
    assert body["state"] == "done" and body["good"] == 2


@pytest.mark.parametrize("ptburn", [["--disc-seconds", "2"]], indirect=True)
async def test_cancel_writes_a_ptm_abort(tmp_path: Path, ptburn: Path) -> None:
    data, _ = content(1000)
    async with running(config(tmp_path, ptburn)) as client:
        sha = await upload(client, data)
        await client.post(
            "/v1/jobs", json={"job_id": "c", "content_sha256": sha, "media": "CD-R", "copies": 3}
        )
        await wait_for(client, "c", lambda b: b["state"] == "running", timeout=20)
        while not list(ptburn.glob("*.INP")):
            await asyncio.sleep(0.02)
        body = (await client.post("/v1/jobs/c/cancel")).json()
    assert body["state"] == "cancelled"
    for _ in range(200):
        if list(ptburn.glob("*.ERR")):
            break
        time.sleep(0.02)
    assert list(ptburn.glob("*.ERR")), "the stand-in did not abort the job"


async def test_unreachable_hot_folder_is_reported_not_hidden(tmp_path: Path) -> None:
    async with running(config(tmp_path, tmp_path / "not-mounted")) as client:
        await wait_for_status(client)
        status = (await client.get("/v1/status")).json()
    assert status["availability"] == "error"
    assert "not reachable" in status["device_message"]


async def wait_for_status(client) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    for _ in range(100):
        if (await client.get("/v1/status")).json()["device_message"] != "starting":
            return
        await asyncio.sleep(0.02)
