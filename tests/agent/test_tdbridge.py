"""The tdbridge driver against a stand-in process playing TD Bridge's documented side."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import final, make_config, running, upload, wait_for

STANDIN = Path(__file__).parent / "standins" / "tdbridge.py"


@pytest.fixture
def tdbridge(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    jobs = tmp_path / "TDBridge"
    jobs.mkdir()
    extra = getattr(request, "param", [])
    proc = subprocess.Popen([sys.executable, str(STANDIN), "--jobs-dir", str(jobs), *extra])
    try:
        yield jobs
    finally:
        proc.kill()
        proc.wait()


def iso(tmp_path: Path) -> bytes:
    src = tmp_path / "tree"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "Read Me.txt").write_text("hello from discflow\n")
    (src / "data.bin").write_bytes(b"\x01" * 5000)
    out = tmp_path / "c.iso"
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


pytestmark = pytest.mark.skipif(shutil.which("xorriso") is None, reason="builds ISOs with xorriso")


async def test_jdf_job_with_the_image_tree_runs_to_done(tmp_path: Path, tdbridge: Path) -> None:
    cfg = make_config(
        tmp_path,
        driver="tdbridge",
        driver_options={"jobs_dir": str(tdbridge), "publisher": "PP-100-1"},
    )
    async with running(cfg) as client:
        sha = await upload(client, iso(tmp_path))
        await client.post(
            "/v1/jobs",
            json={
                "job_id": "td.1",
                "content_sha256": sha,
                "media": "CD-R",
                "copies": 2,
                "volume_name": "TDVOL",
            },
        )
        body = await wait_for(client, "td.1", final, timeout=20)
    assert body["state"] == "done" and body["good"] == 2
    done = list(tdbridge.glob("*.DON"))
    assert len(done) == 1
    lines = done[0].read_text().splitlines()
    keys = dict(line.split("=", 1) for line in lines)
    assert keys["PUBLISHER"] == "PP-100-1" and keys["COPIES"] == "2"
    assert keys["DISC_TYPE"] == "CD" and keys["VOLUME_LABEL"] == "TDVOL"
    assert all(line.split("=")[0] == line.split("=")[0].strip() for line in lines)
    data = Path(keys["DATA"])
    assert (data / "docs" / "Read Me.txt").read_text() == "hello from discflow\n"
    assert (data / "data.bin").stat().st_size == 5000


@pytest.mark.parametrize("tdbridge", [["--discs", "1"]], indirect=True)
async def test_empty_stacker_pauses_and_a_wrong_publisher_errors(
    tmp_path: Path, tdbridge: Path
) -> None:
    cfg = make_config(
        tmp_path,
        driver="tdbridge",
        driver_options={"jobs_dir": str(tdbridge), "publisher": "PP-100-1"},
    )
    async with running(cfg) as client:
        sha = await upload(client, iso(tmp_path))
        await client.post(
            "/v1/jobs", json={"job_id": "p", "content_sha256": sha, "media": "CD-R", "copies": 3}
        )
        paused = await wait_for(client, "p", lambda b: b["state"] == "paused", timeout=20)
        assert "No disc" in paused["error"]
        assert list(tdbridge.glob("*.STP"))
        (tdbridge / "_standin_load").write_text("10")
        body = await wait_for(client, "p", final, timeout=20)
        assert body["state"] == "done" and body["good"] == 3
    wrong = make_config(
        tmp_path / "w",
        driver="tdbridge",
        retry_limit=0,
        driver_options={"jobs_dir": str(tdbridge), "publisher": "PP-100-9"},
    )
    async with running(wrong) as client:
        sha = await upload(client, iso(tmp_path / "w"))
        await client.post(
            "/v1/jobs", json={"job_id": "w", "content_sha256": sha, "media": "CD-R", "copies": 1}
        )
        body = await wait_for(client, "w", final, timeout=20)
    assert body["state"] == "failed"
    assert "not registered" in (body["error"] or "")
