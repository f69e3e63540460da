"""Real burns with Debian's xorriso to ``stdio:`` image files, checked by a separate reader."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pycdlib
import pytest

from discflow.agent._records import order_id_for
from discflow.agent.drivers._xorriso import media_check, parse_progress

from .conftest import final, make_config, running, upload, wait_for

pytestmark = pytest.mark.skipif(shutil.which("xorriso") is None, reason="xorriso not installed")


def make_iso(tmp_path: Path) -> tuple[bytes, bytes]:
    src = tmp_path / "src"
    src.mkdir()
    payload = hashlib.sha256(b"payload").digest() * 40_000  # 1.28 MB
    (src / "readme.txt").write_bytes(payload)
    iso = tmp_path / "content.iso"
    subprocess.run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-V",
            "XTEST",
            "-o",
            str(iso),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    return iso.read_bytes(), payload


def test_progress_lines_are_parsed() -> None:
    assert parse_progress("xorriso : UPDATE :   12 of  700 MB written [buf  50%]") == 12 / 700
    assert parse_progress("Beginning to write data track.") is None


async def test_xorriso_burns_stdio_targets_that_an_independent_reader_accepts(
    tmp_path: Path,
) -> None:
    image, payload = make_iso(tmp_path)
    config = make_config(
        tmp_path, driver="xorriso", driver_options={"output_dir": str(tmp_path / "burns")}
    )
    async with running(config) as client:
        sha = await upload(client, image)
        await client.post(
            "/v1/jobs",
            json={
                "job_id": "x1",
                "content_sha256": sha,
                "media": "CD-R",
                "copies": 2,
                "verify": True,
            },
        )
        body = await wait_for(client, "x1", final, timeout=60)
    assert body["state"] == "done", body
    for copy in body["copies"]:
        assert copy["state"] == "good"
        assert copy["output"].startswith("stdio:")
        target = Path(copy["output"].removeprefix("stdio:"))
        written = target.read_bytes()
        assert len(written) >= len(image)  # xorriso pads the track
        assert hashlib.sha256(written[: len(image)]).hexdigest() == sha
        # independent reader: pycdlib mounts the burnt image and reads the file back
        iso = pycdlib.PyCdlib()
        iso.open(str(target))
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path="/readme.txt")
        iso.close()
        assert out.getvalue() == payload


async def test_xorriso_errors_become_clear_copy_errors(tmp_path: Path) -> None:
    image, _ = make_iso(tmp_path)
    config = make_config(
        tmp_path,
        driver="xorriso",
        drives=1,
        retry_limit=0,
        driver_options={"devices": ["/dev/discflow-no-such-recorder"]},
    )
    async with running(config) as client:
        sha = await upload(client, image)
        await client.post(
            "/v1/jobs", json={"job_id": "x2", "content_sha256": sha, "media": "CD-R", "copies": 1}
        )
        body = await wait_for(client, "x2", final, timeout=30)
        status = (await client.get("/v1/status")).json()
    assert body["state"] == "failed"
    error = body["copies"][0]["error"]
    # the media check runs first: nothing is written, and the blank is not counted spoilt
    assert "xorriso cannot open the drive" in error and "nothing was written" in error
    media = next(m for m in status["media"] if m["media"] == "CD-R")
    assert media["used_failed"] == 0 and media["in_drive"] == 0


# ---- the media check (xorriso(1) -toc) on real stdio: targets ---------------------------


@pytest.mark.parametrize(
    ("toc", "media", "why"),
    [
        ("Drive current: -outdev '/dev/sr0'\nMedia current: is not present\n", "CD-R", "no disc"),
        (
            "Drive current: -outdev '/dev/sr0'\nMedia current: DVD+R/DL\nMedia status : is blank\n",
            "DVD-R",
            "holds DVD+R/DL, not DVD-R",
        ),
        (
            "Drive current: -outdev '/dev/sr0'\nMedia current: DVD+R/DL\nMedia status : is blank\n",
            "DVD+R-DL",
            None,
        ),
        (
            "Drive current: -outdev '/dev/sr0'\nMedia current: BD-R sequential recording\n"
            "Media status : is written , is closed\n",
            "BD-R",
            "not blank",
        ),
    ],
)
def test_media_check_tells_each_outcome_apart(toc: str, media: str, why: str | None) -> None:
    found = media_check(toc, media)
    assert (found is None) if why is None else (found is not None and why in found)


async def test_a_written_target_is_refused_as_not_blank_and_spends_no_blank(
    tmp_path: Path,
) -> None:
    image, _ = make_iso(tmp_path)
    burns = tmp_path / "burns"
    # the stdio: target the driver will use already holds a session ("is written")
    target = burns / "drive-0" / f"{order_id_for('w2', 1)}.iso"
    target.parent.mkdir(parents=True)
    target.write_bytes(image)
    cfg = make_config(
        tmp_path, driver="xorriso", drives=1, retry_limit=0,
        driver_options={"output_dir": str(burns), "speed": 4},
    )  # fmt: skip
    async with running(cfg) as client:
        sha = await upload(client, image)
        body = {"job_id": "w2", "content_sha256": sha, "media": "CD-R", "copies": 1}
        await client.post("/v1/jobs", json=body)
        job = await wait_for(client, "w2", final, timeout=30)
        status = (await client.get("/v1/status")).json()
    assert job["state"] == "failed"
    assert "the disc is not blank (is written , is appendable)" in job["copies"][0]["error"]
    media = next(m for m in status["media"] if m["media"] == "CD-R")
    assert media["used_failed"] == 0 and media["in_drive"] == 0  # not spoilt: never written
    assert target.read_bytes() == image  # and not overwritten
