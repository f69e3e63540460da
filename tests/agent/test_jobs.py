"""Write jobs end to end with the image driver (real files) and the sim driver."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .conftest import content, final, make_config, make_unwritable_drive, running, upload, wait_for


def job(sha: str, job_id: str = "job-1", copies: int = 2, media: str = "CD-R") -> dict[str, object]:
    return {
        "job_id": job_id,
        "content_sha256": sha,
        "media": media,
        "copies": copies,
        "volume_name": "TESTDISC",
        "verify": True,
        "label": {"title": "Test"},
    }


async def test_image_job_writes_verified_iso_files_and_counts_blanks(tmp_path: Path) -> None:
    data, _ = content(2_000_000)
    async with running(make_config(tmp_path)) as client:
        sha = await upload(client, data)
        created = await client.post("/v1/jobs", json=job(sha))
        assert created.status_code == 201
        assert [c["state"] for c in created.json()["copies"]] == ["pending", "pending"]
        body = await wait_for(client, "job-1", final)
        assert body["state"] == "done"
        assert [c["state"] for c in body["copies"]] == ["good", "good"]
        for copy in body["copies"]:
            path = Path(copy["output"])
            assert path.suffix == ".iso" and path.parent.name.startswith("drive-")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
        media = (await client.get("/v1/status")).json()["media"][0]
        assert (media["loaded"], media["used_good"], media["used_failed"]) == (8, 2, 0)
        assert media["loaded_total"] - media["used_good"] - media["used_failed"] == media["loaded"]
        assert (await client.get("/v1/jobs")).json() == [{"job_id": "job-1", "state": "done"}]


async def test_post_jobs_is_idempotent_by_job_id(tmp_path: Path) -> None:
    data, _ = content(1000)
    config = make_config(tmp_path, driver="sim", driver_options={"time_scale": 0.0})
    async with running(config) as client:
        sha = await upload(client, data)
        assert (await client.post("/v1/jobs", json=job(sha))).status_code == 201
        again = await client.post("/v1/jobs", json=job(sha))
        assert again.status_code == 200 and again.json()["job_id"] == "job-1"
        clash = await client.post("/v1/jobs", json=job(sha, copies=3))
        assert clash.status_code == 409
        assert "different body" in clash.json()["detail"]


async def test_job_for_content_not_in_cache_or_media_not_loaded(tmp_path: Path) -> None:
    data, sha = content(1000)
    async with running(make_config(tmp_path)) as client:
        missing = await client.post("/v1/jobs", json=job(sha))
        assert missing.status_code == 404
        assert f"PUT /v1/cache/{sha}" in missing.json()["detail"]
        await upload(client, data)
        no_media = await client.post("/v1/jobs", json=job(sha, media="DVD-R"))
        assert no_media.status_code == 409
        assert "DVD-R is not loaded" in no_media.json()["detail"]
        bad_media = await client.post("/v1/jobs", json=job(sha, media="LaserDisc"))
        assert bad_media.status_code == 422


async def test_a_failed_write_is_retried_on_another_drive_and_the_bad_disc_counted(
    tmp_path: Path,
) -> None:
    make_unwritable_drive(tmp_path / "discs", drive=0)
    data, _ = content(500_000)
    async with running(make_config(tmp_path)) as client:
        sha = await upload(client, data)
        await client.post("/v1/jobs", json=job(sha, copies=2))
        body = await wait_for(client, "job-1", final)
        assert body["state"] == "done"
        states = [c["state"] for c in body["copies"]]
        assert states.count("good") == 2 and states.count("failed-write") == 1
        bad = next(c for c in body["copies"] if c["state"] == "failed-write")
        assert bad["drive"] == 0 and "cannot write" in bad["error"]
        assert all(c["drive"] == 1 for c in body["copies"] if c["state"] == "good")
        media = (await client.get("/v1/status")).json()["media"][0]
        assert (media["loaded"], media["used_good"], media["used_failed"]) == (7, 2, 1)


async def test_too_many_failures_fail_the_job(tmp_path: Path) -> None:
    config = make_config(tmp_path, drives=1, retry_limit=1)
    make_unwritable_drive(tmp_path / "discs", drive=0)
    data, _ = content(1000)
    async with running(config) as client:
        sha = await upload(client, data)
        await client.post("/v1/jobs", json=job(sha, copies=1))
        body = await wait_for(client, "job-1", final)
        assert body["state"] == "failed"
        assert "retry_limit=1" in body["error"]
        assert [c["state"] for c in body["copies"]] == ["failed-write", "failed-write"]


async def test_out_of_media_pauses_and_resumes_when_blanks_are_loaded(tmp_path: Path) -> None:
    config = make_config(tmp_path, media={"CD-R": {"loaded": 1, "write_Bps": 7_800_000}})
    data, _ = content(100_000)
    async with running(config) as client:
        sha = await upload(client, data)
        await client.post("/v1/jobs", json=job(sha, copies=3))
        paused = await wait_for(client, "job-1", lambda b: b["state"] == "paused")
        assert "out of CD-R blanks" in paused["error"]
        assert [c["state"] for c in paused["copies"]].count("good") == 1
        assert [c["state"] for c in paused["copies"]].count("pending") == 2
        status = (await client.get("/v1/status")).json()
        assert status["availability"] == "paused"
        assert status["media"][0]["loaded"] == 0
        added = await client.post("/v1/media", json={"media": "cd-r", "count": 5})
        assert added.json()["loaded"] == 5
        body = await wait_for(client, "job-1", final)
        assert body["state"] == "done" and body["good"] == 3
        assert (await client.get("/v1/status")).json()["media"][0]["loaded"] == 3


async def test_sim_failures_are_seeded_and_cancel_stops_a_job(tmp_path: Path) -> None:
    options = {"time_scale": 0.0, "failure_rate": 0.5, "seed": 7}
    config = make_config(
        tmp_path,
        driver="sim",
        driver_options=options,
        retry_limit=50,
        media={"CD-R": {"loaded": 100, "write_Bps": 7_800_000}},
    )
    data, _ = content(1000)
    async with running(config) as client:
        sha = await upload(client, data)
        await client.post("/v1/jobs", json=job(sha, copies=6))
        body = await wait_for(client, "job-1", final)
        assert body["state"] == "done" and body["good"] == 6 and body["failed"] > 0
        media = (await client.get("/v1/status")).json()["media"][0]
        assert media["used_failed"] == body["failed"] and media["used_good"] == 6
    slow = make_config(tmp_path / "b", driver="sim", driver_options={"time_scale": 100.0})
    async with running(slow) as client:
        sha = await upload(client, data)
        await client.post("/v1/jobs", json=job(sha, copies=2))
        await wait_for(client, "job-1", lambda b: b["state"] == "running")
        cancelled = (await client.post("/v1/jobs/job-1/cancel")).json()
        assert cancelled["state"] == "cancelled"
        assert {c["state"] for c in cancelled["copies"]} == {"cancelled"}
        media = (await client.get("/v1/status")).json()["media"][0]
        assert media["in_drive"] == 0 and media["used_failed"] == 2  # two discs were spoilt
        again = await client.post("/v1/jobs/job-1/cancel")
        assert again.status_code == 409
