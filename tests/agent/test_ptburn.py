"""The ptburn driver against the strict PTBurn stand-in (PTBurn 3 SDK rev 3.24 sections cited)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from discflow.agent.drivers import DriverSettings
from discflow.agent.drivers._hotfolder import parse_ini
from discflow.agent.drivers._ptburn import PTBurnDriver, PTBurnOptions, job_request
from discflow.agent.drivers._ptburn_status import disc_failure
from discflow.domain import CopyState, Priority
from discflow.errors import InvalidInput

from .conftest import content, final, make_config, running, upload, wait_for
from .conftest import write_order as order
from .robots import reasons, standin, status_until, write_control

ROBOT = "Disc Publisher SE"
FIXTURES = Path(__file__).parent / "fixtures"


def config(tmp_path: Path, jobs: Path, **options: Any):  # type: ignore[no-untyped-def]
    return make_config(
        tmp_path,
        driver="ptburn",
        drives=2,
        status_poll_s=0.1,
        media={"CD-R": {"loaded": 50, "write_Bps": 7_800_000}},
        driver_options={"jobs_dir": str(jobs), "robot_name": ROBOT, **options},
    )


# ---- job files key by key (2.1) ------------------------------------------------------

EXPECTED_KEYS = {
    "JobID": "o1-abc123-1",  # 2.1.1
    "ClientID": "discflow",  # 2.1.2
    "Importance": "4",  # 2.1.3: 4 is the default
    "ImageFile": r"C:\PTBurnJobs\o1\img.iso",  # 2.1.6
    "DeleteFiles": "YES",  # 2.1.7
    "CloseDisc": "YES",  # 2.1.10
    "Copies": "3",  # 2.1.11
    "VerifyDisc": "YES",  # 2.1.15
    "RejectIfNotBlank": "YES",  # 2.1.16
}


@pytest.mark.parametrize("media", ["CD-R", "DVD-R", "DVD+R-DL"])
def test_jrq_keys_match_the_sdk_for_each_media(media: str) -> None:
    options = PTBurnOptions(jobs_dir=Path("/j"))
    lines = job_request(
        order(media), image_path=r"C:\PTBurnJobs\o1\img.iso", options=options, stem="o1-abc123-1"
    )
    written = dict(line.split("=", 1) for line in lines)
    assert written == EXPECTED_KEYS  # no DiscType: it is documented only for PreMasterData
    assert len(lines) == len(written)  # no key twice


def test_bd_r_is_refused_before_any_job_file_unless_the_robot_takes_it(tmp_path: Path) -> None:
    def driver(**options: Any) -> PTBurnDriver:
        return PTBurnDriver(
            DriverSettings("pub-1", 1, {"jobs_dir": str(tmp_path), **options}, {}, tmp_path)
        )

    with pytest.raises(InvalidInput, match="cannot write BD-R: its robot takes CD, DVD"):
        driver().check_order("BD-R", copies=1)
    driver(blu_ray=True).check_order("BD-R", copies=1)
    assert list(tmp_path.iterdir()) == []


def test_priority_speed_and_label_keys() -> None:
    options = PTBurnOptions(jobs_dir=Path("/j"), robot_name=ROBOT)
    rush = order(
        "CD-R",
        priority=Priority.RUSH,
        burn_speed=16,
        label_design=r"C:\Labels\disc.std",
        merge=({"TITLE": "Scans", "COPY": "1 of 3"},),
    )
    lines = job_request(rush, image_path="i.iso", options=options, stem="s")
    assert "Importance=0" in lines  # 2.1.3: 0 is the most urgent
    assert "BurnSpeed=16" in lines  # 2.1.14
    assert f"RobotName={ROBOT}" in lines  # 2.1.41
    assert lines[-3:] == [
        r"PrintLabel=C:\Labels\disc.std",
        "MergeField=Scans",
        "MergeField=1 of 3",
    ]  # 2.1.12, 2.1.40 in the design's order


def test_disc_error_numbers_are_read_not_guessed() -> None:
    # Appendix C: 12 not blank, 18 recording, 19 verifying
    section = {"DiscErrorNumber0": "19", "DiscErrorNumber1": "12", "DiscErrorNumber2": "18"}
    assert disc_failure(section, 0)[0] is CopyState.FAILED_VERIFY
    assert "not blank" in disc_failure(section, 1)[1]
    assert disc_failure(section, 2)[0] is CopyState.FAILED_WRITE


def test_the_sdk_example_status_file_reads_as_a_finished_good_job() -> None:
    # 3.2.1's example RobotName.txt (fixtures/ptburn_robot_example.txt)
    status = parse_ini((FIXTURES / "ptburn_robot_example.txt").read_text())
    job = status["DataJob_ClosedDisc"]
    assert (job["JobState"], job["GoodDiscs"], job["CurrentStatusState"]) == ("2", "1", "10")


# ---- against the stand-in --------------------------------------------------------------


async def submit(client: Any, job_id: str, sha: str, copies: int = 3, **kw: Any) -> None:
    body = {"job_id": job_id, "content_sha256": sha, "media": "CD-R", "copies": copies, **kw}
    response = await client.post("/v1/jobs", json=body)
    assert response.status_code == 201, response.text


async def test_a_multi_copy_job_follows_statusfile_and_is_done(tmp_path: Path) -> None:
    jobs = tmp_path / "PTBurnJobs"
    # 3.1.3.5: the robot's status file is the one StatusFile names
    with standin("ptburn", jobs, "--status-file", "PTRobot-7.txt"):
        async with running(config(tmp_path, jobs)) as client:
            sha = await upload(client, content(200_000)[0])
            await submit(client, "order-7", sha, copies=3)
            body = await wait_for(client, "order-7", final, timeout=20)
    assert body["state"] == "done", body
    assert [c["state"] for c in body["copies"]] == ["good"] * 3
    assert list(jobs.glob("*.DON")) and not list(jobs.glob("*.ERR"))  # the JRQ was valid
    assert not [p for p in jobs.iterdir() if p.is_dir() and p.name != "Status"]  # 2.1.7


async def test_a_verify_failure_is_reported_as_such_and_replaced(tmp_path: Path) -> None:
    jobs = tmp_path / "PTBurnJobs"
    with standin("ptburn", jobs):
        write_control(jobs, fail_verify=[2], not_blank=[4])
        async with running(config(tmp_path, jobs)) as client:
            sha = await upload(client, content(100_000)[0])
            await submit(client, "order-8", sha, copies=3)
            body = await wait_for(client, "order-8", final, timeout=20)
    states = [c["state"] for c in body["copies"]]
    assert body["state"] == "done" and states.count("good") == 3
    verify = [c for c in body["copies"] if c["state"] == "failed-verify"]
    assert len(verify) == 1 and "disc error 19" in verify[0]["error"]
    blank = [c for c in body["copies"] if c["state"] == "failed-write"]
    assert len(blank) == 1 and "not blank (disc error 12)" in blank[0]["error"]


async def test_robot_states_become_reasons_on_the_status(tmp_path: Path) -> None:
    jobs = tmp_path / "PTBurnJobs"
    with standin("ptburn", jobs):
        async with running(config(tmp_path, jobs)) as client:
            write_control(jobs, ink={"3": 8}, system_status="Cover Open")  # 3.1.3.9, 3.2.5.2
            # SystemStatus.txt (ink) and the robot's file (cover) are two files, rewritten
            # one after the other: wait until one status shows both
            body = await status_until(
                client, lambda b: {"cover-open", "marker-supply-low"} <= reasons(b).keys()
            )
            found = reasons(body)
            assert found["marker-supply-low"]["message"] == "pub-1: cyan ink 8 %"
            assert found["marker-supply-low"]["severity"] == "warning"
            assert found["cover-open"]["severity"] == "error"
            assert body["availability"] == "error"
            write_control(jobs, ink={}, system_status="")
            body = await status_until(client, lambda b: not b["reasons"])
            assert body["availability"] == "online"


async def test_a_stopped_service_is_shown_as_unresponsive(tmp_path: Path) -> None:
    jobs = tmp_path / "PTBurnJobs"
    with standin("ptburn", jobs):
        async with running(config(tmp_path, jobs, tick_timeout_s=3.0)) as client:
            # online as read from PTBurn's status files, not the agent's "starting"
            await status_until(client, lambda b: b["device_message"] == "System OK")
            write_control(jobs, stop_service=True)  # 3.1.4.3: ServerTickCount stops
            body = await status_until(client, lambda b: "service-unresponsive" in reasons(b))
    assert "ServerTickCount" in reasons(body)["service-unresponsive"]["message"]
    assert body["availability"] == "error"


@pytest.mark.parametrize("refuse", [False, True])
async def test_cancel_is_reported_only_when_ptburn_confirms(tmp_path: Path, refuse: bool) -> None:
    jobs = tmp_path / "PTBurnJobs"
    with standin("ptburn", jobs, "--disc-seconds", "0.2"):
        write_control(jobs, refuse_cancel=refuse)
        async with running(config(tmp_path, jobs, cancel_wait_s=3 if refuse else 15)) as client:
            sha = await upload(client, content(50_000)[0])
            await submit(client, "long", sha, copies=30)
            await wait_for(client, "long", lambda b: any(jobs.glob("*.INP")))
            response = await client.post("/v1/jobs/long/cancel")
            body = (await client.get("/v1/jobs/long")).json()
    if refuse:  # 4.1: a rejected ABORT leaves the job running
        assert response.status_code == 409 and "refused" in response.json()["detail"]
        assert body["state"] == "running"
    else:
        assert response.status_code == 200 and body["state"] == "cancelled"
        err = parse_ini(next((jobs / "Status").glob(f"{ROBOT}.txt")).read_text())
        assert any(s.get("JobErrorNumber") == "16" for s in err.values())  # "aborted"


async def test_one_job_per_distinct_merge_set(tmp_path: Path) -> None:
    jobs = tmp_path / "PTBurnJobs"
    with standin("ptburn", jobs):
        async with running(config(tmp_path, jobs)) as client:
            sha = await upload(client, content(20_000)[0])
            label = {"design": str(tmp_path / "disc.std"), "merge": [{"TITLE": "Scans"}]}
            await submit(client, "lab", sha, copies=2, label=label)
            body = await wait_for(client, "lab", final, timeout=20)
    assert body["state"] == "done"
    merges = sorted(
        [line for line in p.read_text("cp1252").splitlines() if line.startswith("MergeField")]
        for p in jobs.glob("*.DON")
    )
    assert merges == [
        ["MergeField=Scans", "MergeField=1 of 2"],
        ["MergeField=Scans", "MergeField=2 of 2"],
    ]


async def test_a_cancel_confirmed_after_the_wait_still_ends_the_job_cancelled(
    tmp_path: Path,
) -> None:
    # PTM files are read about every 10 s (4.3): the robot may confirm after the agent
    # stopped waiting; the job must then end cancelled, not be started again
    jobs = tmp_path / "PTBurnJobs"
    with standin("ptburn", jobs, "--disc-seconds", "0.3"):
        async with running(config(tmp_path, jobs, cancel_wait_s=0.01)) as client:
            sha = await upload(client, content(50_000)[0])
            await submit(client, "late", sha, copies=30)
            await wait_for(client, "late", lambda b: any(jobs.glob("*.INP")))
            response = await client.post("/v1/jobs/late/cancel")
            assert response.status_code == 409  # not confirmed (yet)
            body = await wait_for(client, "late", final, timeout=20)
    assert body["state"] == "cancelled", body
    assert len(list(jobs.glob("*.ERR"))) == 1 and not list(jobs.glob("*.JRQ"))
