"""The tdbridge driver against the strict TD Bridge stand-in.

Sections cited are of the TD Bridge Technical Reference Guide (Rev.C page numbers
unless the PP-100II edition is named).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from discflow.agent.drivers import DriverSettings
from discflow.agent.drivers._tdbridge import TDBridgeDriver, TDBridgeOptions, job_description
from discflow.domain import Priority
from discflow.errors import InvalidInput

from .conftest import content, final, make_config, running, upload, wait_for
from .conftest import write_order as order
from .robots import reasons, standin, status_until, write_control

PUBLISHER = "PP-100-1"
FIXTURES = Path(__file__).parent / "fixtures"
MEDIA = {"CD-R": {"loaded": 50, "write_Bps": 7_800_000}}


def config(tmp_path: Path, jobs: Path, **options: Any):  # type: ignore[no-untyped-def]
    return make_config(
        tmp_path,
        driver="tdbridge",
        status_poll_s=0.1,
        media=MEDIA,
        driver_options={"jobs_dir": str(jobs), "publisher": PUBLISHER, **options},
    )


# ---- job files key by key ("Setting Item List", p. 41-45) ----------------------------


@pytest.mark.parametrize(
    ("media", "disc_type"), [("CD-R", "CD"), ("DVD-R", "DVD"), ("DVD+R-DL", "DVD-DL")]
)
def test_jdf_keys_match_the_guide_for_each_media(media: str, disc_type: str) -> None:
    options = TDBridgeOptions(jobs_dir=Path("/j"), publisher=PUBLISHER)
    lines = job_description(
        order(media), options=options, source=r"C:\TDB\img.iso", merge_file=None
    )
    assert lines == [
        "JOB_ID=o1-abc123-1",  # 40 one-byte alphanumerics, - and _
        f"PUBLISHER={PUBLISHER}",  # the name registered by Total Disc Setup
        "COPIES=3",  # 1 to 1,000 in standard mode
        f"DISC_TYPE={disc_type}",  # JDF0502: CD, DVD or DVD-DL
        "COMPARE=YES",  # JDF0700: YES or NO; the order asked to verify
        r"IMAGE=C:\TDB\img.iso",  # the image-file job type (JDF0000/JDF0001)
    ]


def test_bd_r_is_refused_before_any_job_file(tmp_path: Path) -> None:
    driver = TDBridgeDriver(
        DriverSettings("pub-1", 1, {"jobs_dir": str(tmp_path), "publisher": "P"}, {}, tmp_path)
    )
    with pytest.raises(InvalidInput, match="cannot write BD-R"):
        driver.check_order("BD-R", copies=1)
    assert list(tmp_path.iterdir()) == []


def test_priority_speed_stacker_and_label_keys() -> None:
    options = TDBridgeOptions(
        jobs_dir=Path("/j"), publisher=PUBLISHER, out_stacker=2, writing_speed=8
    )
    rush = order(
        "CD-R",
        priority=Priority.RUSH,
        verify=False,
        label_design=r"C:\L\disc.tdd",
        merge=({"TITLE": "x"},),
    )
    lines = job_description(rush, options=options, source="i.iso", merge_file=r"C:\m.txt")
    assert lines[4:] == [
        "COMPARE=NO",
        "IMAGE=i.iso",
        "WRITING_SPEED=8",  # JDF0600: a number
        "OUT_STACKER=2",  # JDF0400: 2 or 4
        "PRIORITY=HIGH",  # the guide's job-priority example (PP-100II p. 41)
        r"LABEL=C:\L\disc.tdd",
        r"REPLACE_FIELD=C:\m.txt",
    ]


def test_the_guides_example_status_file_reads_without_reasons(tmp_path: Path) -> None:
    # "STF File Status Transition" (p. 62), state (4) "After completion of a job", verbatim
    status = tmp_path / "TDBStatus.txt"
    status.write_text((FIXTURES / "tdbridge_stf_example.txt").read_text())
    driver = TDBridgeDriver(
        DriverSettings(
            "pub-1", 1, {"jobs_dir": str(tmp_path), "publisher": "Publisher 0"}, {}, tmp_path
        )
    )
    report = asyncio.run(driver.device_status())
    assert report.reasons == () and report.details["STACKER1"] == "15"


# ---- against the stand-in ----------------------------------------------------------------


async def submit(client: Any, job_id: str, sha: str, copies: int = 3, **kw: Any) -> Any:
    body = {"job_id": job_id, "content_sha256": sha, "media": "CD-R", "copies": copies, **kw}
    return await client.post("/v1/jobs", json=body)


async def test_a_multi_copy_image_job_is_compared_and_done(tmp_path: Path) -> None:
    jobs = tmp_path / "TDBridge"
    with standin("tdbridge", jobs, "--publisher", PUBLISHER):
        async with running(config(tmp_path, jobs)) as client:
            sha = await upload(client, content(100_000)[0])
            assert (await submit(client, "td-1", sha, copies=3)).status_code == 201
            body = await wait_for(client, "td-1", final, timeout=20)
    assert body["state"] == "done", body
    assert [c["state"] for c in body["copies"]] == ["good"] * 3
    done = next(jobs.glob("*.DON")).read_text("cp1252").splitlines()
    assert "COMPARE=YES" in done and any(line.startswith("IMAGE=") for line in done)
    assert (jobs / "_standin_ignored.txt").read_text().strip() == ""  # no ignored key


async def test_bd_r_order_is_a_422_and_writes_nothing(tmp_path: Path) -> None:
    jobs = tmp_path / "TDBridge"
    jobs.mkdir()
    cfg = make_config(
        tmp_path,
        driver="tdbridge",
        media={"BD-R": {"loaded": 5, "write_Bps": 1}},
        driver_options={"jobs_dir": str(jobs), "publisher": PUBLISHER},
    )
    async with running(cfg) as client:
        sha = await upload(client, b"x" * 4096)
        response = await client.post(
            "/v1/jobs", json={"job_id": "bd", "content_sha256": sha, "media": "BD-R", "copies": 1}
        )
    assert response.status_code == 422 and "cannot write BD-R" in response.json()["detail"]
    assert list(jobs.iterdir()) == []


async def test_a_rejected_disc_fails_with_the_robots_reason_and_is_remade(tmp_path: Path) -> None:
    jobs = tmp_path / "TDBridge"
    with standin("tdbridge", jobs, "--publisher", PUBLISHER):
        write_control(jobs, fail_discs=[2])
        async with running(config(tmp_path, jobs)) as client:
            sha = await upload(client, content(50_000)[0])
            await submit(client, "td-2", sha, copies=3)
            await wait_for(client, "td-2", lambda b: any(jobs.glob("*.ERR")), timeout=20)
            write_control(jobs, fail_discs=[])
            body = await wait_for(client, "td-2", final, timeout=30)
    assert body["state"] == "done", body
    failed = [c for c in body["copies"] if c["state"] == "failed-write"]
    assert len(failed) == 1 and "Disc 2 could not be published" in failed[0]["error"]


async def test_cover_open_and_ink_become_reasons(tmp_path: Path) -> None:
    jobs = tmp_path / "TDBridge"
    with standin("tdbridge", jobs, "--publisher", PUBLISHER, "--disc-seconds", "0.2"):
        async with running(config(tmp_path, jobs)) as client:
            write_control(jobs, ink={"INK_C": 8, "INK_B": 0})  # STF: 0 = replace the cartridge
            sha = await upload(client, content(50_000)[0])
            await submit(client, "td-3", sha, copies=20)
            write_control(jobs, cover_open=True)
            body = await status_until(client, lambda b: "cover-open" in reasons(b))
            found = reasons(body)
            assert found["marker-supply-low"]["message"] == "pub-1: cyan ink 8 %"
            assert found["marker-supply-empty"]["detail"] == "black"
            assert body["availability"] == "error"
            job = await wait_for(client, "td-3", lambda b: "Cover open" in (b["error"] or ""))
            assert job["state"] == "paused"


async def test_a_stopped_td_bridge_is_shown_as_unresponsive(tmp_path: Path) -> None:
    jobs = tmp_path / "TDBridge"
    with standin("tdbridge", jobs, "--publisher", PUBLISHER):
        async with running(config(tmp_path, jobs, stale_status_s=3.0)) as client:
            # online as read from the STF file, not the agent's "starting"
            await status_until(client, lambda b: b["device_message"] == "registered")
            write_control(jobs, stop_service=True)
            body = await status_until(client, lambda b: "service-unresponsive" in reasons(b))
    assert "TDBStatus.txt" in reasons(body)["service-unresponsive"]["message"]


@pytest.mark.parametrize("refuse", [False, True])
async def test_cancel_follows_cdn_and_cer(tmp_path: Path, refuse: bool) -> None:
    jobs = tmp_path / "TDBridge"
    with standin("tdbridge", jobs, "--publisher", PUBLISHER, "--disc-seconds", "0.2"):
        write_control(jobs, refuse_cancel=refuse)
        async with running(config(tmp_path, jobs, cancel_wait_s=3 if refuse else 15)) as client:
            sha = await upload(client, content(50_000)[0])
            await submit(client, "td-4", sha, copies=30)
            await wait_for(client, "td-4", lambda b: any(jobs.glob("*.INP")))
            response = await client.post("/v1/jobs/td-4/cancel")
            body = (await client.get("/v1/jobs/td-4")).json()
    if refuse:  # the JCF became .CER: the job goes on
        assert response.status_code == 409 and "refused" in response.json()["detail"]
        assert body["state"] == "running" and list(jobs.glob("*.CER"))
    else:  # .CDN, and the job ended .DON (STATUS=4) without being called done
        assert response.status_code == 200 and body["state"] == "cancelled"
        assert list(jobs.glob("*.CDN"))


async def test_a_data_job_extracts_the_image_inside_its_folder(tmp_path: Path) -> None:
    from .hostile import traversal_iso

    jobs = tmp_path / "TDBridge"
    image = traversal_iso(tmp_path / "plain.iso", "Read Me.txt-abcd").read_bytes()
    with standin("tdbridge", jobs, "--publisher", PUBLISHER):
        async with running(config(tmp_path, jobs, job_type="data")) as client:
            sha = await upload(client, image)
            await submit(client, "td-data", sha, copies=1)
            body = await wait_for(client, "td-data", final, timeout=20)
    assert body["state"] == "done", body
    jdf = dict(line.split("=", 1) for line in next(jobs.glob("*.DON")).read_text().splitlines())
    assert jdf["FORMAT"] == "UDF102" and jdf["VOLUME_LABEL"] == "DISCFLOW"  # p. 46
    extracted = Path(jdf["DATA"])
    assert jobs in extracted.parents  # the stand-in found the files there (else SYS001)
    assert not extracted.exists()  # and the driver removed them once the job ended
    assert (jobs / "_standin_ignored.txt").read_text().strip() == ""
