"""Issue #19 items 1, 3 and 4 (and #13 "nothing can be injected"), each reproduced.

1. An image whose Rock Ridge/Joliet names hold ``../`` was accepted at ingest and,
   on a TD Bridge data job, written outside the hot folder.
3. A volume name or label value with CR/LF added ``Copies=9999`` lines to job files.
4. A hostile job (a Rock Ridge symlink) wedged the device: the next job never ran.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from discflow.agent.drivers import (
    DriverSettings,
    ImageDriver,
    MediaTiming,
    WriteReport,
    extract_iso,
)
from discflow.archive import BlobStore
from discflow.errors import BurnFailed, IngestError

from .conftest import final, make_config, running, upload, wait_for
from .hostile import symlink_iso, traversal_iso, volume_id_iso

# ---- 1: traversal at ingest and at extraction -------------------------------------


def inspect_image(image: Path, *, display_name: str) -> object:
    """The real ingest path: the archive's ``ingest_iso`` (which probes every name)."""
    del display_name
    store = BlobStore(image.parent / "archive")
    stored = store.ingest_iso(image)
    return stored


def test_ingest_refuses_traversal_names_in_rock_ridge_and_joliet(tmp_path: Path) -> None:
    image = traversal_iso(tmp_path / "evil.iso")
    with pytest.raises(IngestError, match=r"'\.\./\.\./\.\./\.\./evil'.*outside the folder"):
        inspect_image(image, display_name="evil.iso")
    assert not any((tmp_path / "archive" / "blobs").rglob("*.iso"))  # nothing stored


def test_ingest_refuses_a_symlink_that_escapes_the_image(tmp_path: Path) -> None:
    image = symlink_iso(tmp_path / "link.iso")
    with pytest.raises(IngestError, match="symbolic link to '../../../etc/passwd'"):
        inspect_image(image, display_name="link.iso")


def test_ingest_keeps_a_symlink_inside_the_tree(tmp_path: Path) -> None:
    image = symlink_iso(tmp_path / "ok.iso", target="README")
    assert inspect_image(image, display_name="ok.iso") is not None


@pytest.mark.parametrize("volume_id", ["V\r\nCopies=9999", "V\nPrintLabel=x", "V\x00X"])
def test_ingest_refuses_a_volume_id_with_control_characters(tmp_path: Path, volume_id: str) -> None:
    image = volume_id_iso(tmp_path / "vol.iso", volume_id)
    with pytest.raises(IngestError, match="control characters"):
        inspect_image(image, display_name="vol.iso")


def test_extraction_never_writes_outside_its_folder(tmp_path: Path) -> None:
    image = traversal_iso(tmp_path / "evil.iso")
    dest = tmp_path / "hot" / "job_data"
    dest.mkdir(parents=True)
    with pytest.raises(BurnFailed, match="outside its folder"):
        extract_iso(image, dest)
    assert not (tmp_path / "evil").exists()
    assert not any(p.name == "evil" for p in tmp_path.rglob("*"))


def test_extraction_refuses_symlinks_and_never_creates_one(tmp_path: Path) -> None:
    image = symlink_iso(tmp_path / "link.iso")
    dest = tmp_path / "job_data"
    dest.mkdir()
    with pytest.raises(BurnFailed, match="symbolic link"):
        extract_iso(image, dest)
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_extraction_does_not_write_through_a_planted_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    image = symlink_iso(tmp_path / "clean.iso", target="README")
    dest = tmp_path / "job_data"
    dest.mkdir()
    (dest / "README").symlink_to(outside)  # planted before the extraction
    with pytest.raises(BurnFailed):
        extract_iso(image, dest)
    assert outside.read_text() == "keep me"


# ---- 3: job-file injection refused at the API, nothing written ---------------------


def _ptburn_config(tmp_path: Path, jobs: Path):  # type: ignore[no-untyped-def]
    return make_config(tmp_path, driver="ptburn", driver_options={"jobs_dir": str(jobs)})


@pytest.mark.parametrize(
    "volume_name",
    ["V\nCopies=9999", "V\r\nCopies=9999\r\nPrintLabel=x", "A" * 33, "a;b", "x\x00", ""],
)
async def test_hostile_volume_name_is_a_422_naming_the_field(
    tmp_path: Path, volume_name: str
) -> None:
    jobs = tmp_path / "PTBurnJobs"
    jobs.mkdir()
    async with running(_ptburn_config(tmp_path, jobs)) as client:
        sha = await upload(client, b"x" * 4096)
        response = await client.post(
            "/v1/jobs",
            json={
                "job_id": "j1",
                "content_sha256": sha,
                "media": "CD-R",
                "copies": 1,
                "volume_name": volume_name,
            },
        )
    assert response.status_code == 422, response.text
    assert "volume_name" in response.json()["detail"]
    assert list(jobs.iterdir()) == []  # no job file, no image placed


@pytest.mark.parametrize(
    "label",
    [
        {"design": "disc.std", "merge": [{"TITLE": "A\r\nCopies=9999"}]},
        {"design": "disc.std", "merge": [{"TITLE": "tab\there"}]},
        {"design": "disc.std", "merge": [{"TITLE": "x" * 129}]},
        {"design": "disc.std", "merge": [{"TITLE": "zero\u200bwidth"}]},
        {"design": "disc.std", "merge": [{"TITLE=x": "v"}]},
        {"design": "disc\n.std", "merge": []},
        {"title": "Legacy\nPrintLabel=evil", "order_id": 3},
    ],
)
async def test_hostile_label_value_is_a_422_and_no_job_file(
    tmp_path: Path, label: dict[str, object]
) -> None:
    jobs = tmp_path / "PTBurnJobs"
    jobs.mkdir()
    async with running(_ptburn_config(tmp_path, jobs)) as client:
        sha = await upload(client, b"x" * 4096)
        response = await client.post(
            "/v1/jobs",
            json={
                "job_id": "j1",
                "content_sha256": sha,
                "media": "CD-R",
                "copies": 1,
                "label": label,
            },
        )
    assert response.status_code == 422, response.text
    assert "label" in response.json()["detail"]
    assert list(jobs.iterdir()) == []


# ---- 4: a hostile job fails alone, cleans up, and the next job runs ----------------


async def test_a_hostile_image_fails_its_job_and_the_next_job_still_runs(
    tmp_path: Path,
) -> None:
    jobs = tmp_path / "TDBridge"
    jobs.mkdir()
    cfg = make_config(
        tmp_path,
        driver="tdbridge",
        driver_options={"jobs_dir": str(jobs), "publisher": "PP-100", "job_type": "data"},
        retry_limit=0,
    )
    hostile = symlink_iso(tmp_path / "link.iso").read_bytes()
    clean_bytes = traversal_iso(tmp_path / "clean.iso", "plain-file-name1").read_bytes()
    async with running(cfg) as client:
        bad_sha = await upload(client, hostile)
        good_sha = await upload(client, clean_bytes)
        for job_id, sha in (("hostile", bad_sha), ("next", good_sha)):
            response = await client.post(
                "/v1/jobs",
                json={"job_id": job_id, "content_sha256": sha, "media": "CD-R", "copies": 1},
            )
            assert response.status_code == 201, response.text
        body = await wait_for(client, "hostile", final)
        assert body["state"] == "failed"
        assert "symbolic link" in (body["error"] or body["copies"][0]["error"])
        # the next job reached the robot: its job file is in the hot folder
        await wait_for(client, "next", lambda b: any(jobs.glob("*.JDF")))
    assert [p.name for p in jobs.glob("*_data")] != []  # the next job's folder only
    assert len(list(jobs.glob("*_data"))) == 1
    assert hashlib.sha256(clean_bytes).hexdigest() == good_sha


class _FaultyImageDriver(ImageDriver):
    """The real image driver with one injected fault: polling job "boom" raises
    something that is not a DiscflowError (as pycdlib's errors did in #19.4)."""

    async def poll(self, handle: str) -> WriteReport:
        if handle.startswith("boom"):
            raise RuntimeError("driver bug while reading the device")
        return await super().poll(handle)


async def test_an_unexpected_driver_error_fails_that_job_and_the_next_one_runs(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path, drives=1)
    settings = DriverSettings("pub-1", 1, {"output_dir": str(tmp_path / "discs")},
                              {"CD-R": MediaTiming(7_800_000)}, tmp_path / "work")  # fmt: skip
    async with running(cfg, driver=_FaultyImageDriver(settings)) as client:
        sha = await upload(client, b"y" * 8192)
        for job_id in ("boom", "after"):
            body = {"job_id": job_id, "content_sha256": sha, "media": "CD-R", "copies": 1}
            assert (await client.post("/v1/jobs", json=body)).status_code == 201
        boom = await wait_for(client, "boom", final)
        after = await wait_for(client, "after", final)
        status = (await client.get("/v1/status")).json()
    assert boom["state"] == "failed" and "RuntimeError: driver bug" in boom["error"]
    assert after["state"] == "done"
    media = status["media"][0]
    assert media["in_drive"] == 0  # the crashed job's blank was settled, none left hanging
