"""The server's dispatch-job lifecycle: one table in ``domain``, checked by the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from discflow import store
from discflow.archive import BlobStore
from discflow.domain import (
    DISPATCH_ACTIVE,
    DISPATCH_LIFECYCLE,
    DispatchReason,
    DispatchState,
    JobState,
    Priority,
)
from discflow.errors import IllegalTransition, InvalidInput
from discflow.store import CopyCounts, Database, Job
from tests.utils.factories import place_request
from tests.utils.system import ingest_contents


def _job(database: Database, root: Path) -> str:
    blobs = BlobStore(root / "archive")
    (content,) = ingest_contents(database, blobs, root / "t", sizes=[20_000], seed=3)
    with database.transaction() as session:
        store.register_device(
            session, name="img", driver="image", address="http://127.0.0.1:9", actor="op"
        )
        request = place_request(session, content.id, 2)
        job = store.create_job(session, request, device="img", copies=2, owner="d1", lease_s=30)
        return job.id


def test_every_agent_state_has_a_dispatch_state() -> None:
    for agent_state in JobState:
        mirrored = DispatchState.mirroring(agent_state)
        assert DISPATCH_LIFECYCLE.can(DispatchState.PENDING, mirrored)
    assert DISPATCH_LIFECYCLE.is_terminal(DispatchState.DONE)
    assert DispatchState.LOST not in DISPATCH_ACTIVE


def test_store_refuses_an_illegal_move_and_keeps_the_job(
    database: Database, tmp_path: Path
) -> None:
    job_id = _job(database, tmp_path)
    none = CopyCounts(0, 0, False, False)
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        store.update_job(
            session, job, state=DispatchState.DONE, counts=CopyCounts(2, 0, False, False)
        )
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        with pytest.raises(IllegalTransition, match="'done' is final"):
            store.update_job(session, job, state=DispatchState.RUNNING, counts=none)
        assert job.state == DispatchState.DONE


def test_lost_reason_is_a_column_not_error_text(database: Database, tmp_path: Path) -> None:
    job_id = _job(database, tmp_path)
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.reason == DispatchReason.NONE
        store.update_job(
            session,
            job,
            state=DispatchState.LOST,
            counts=CopyCounts(0, 0, False, False),
            error="any sentence at all",
            reason=DispatchReason.SERVICE_OFF_LINE,
        )
    with database.transaction() as session:
        lost = session.query(Job).filter(Job.reason == DispatchReason.SERVICE_OFF_LINE).all()
        assert [j.id for j in lost] == [job_id]
        # a lost job may still be counted from its returned device's final word, not revived
        with pytest.raises(IllegalTransition):
            store.update_job(
                session, lost[0], state=DispatchState.RUNNING, counts=CopyCounts(0, 0, True, False)
            )


def test_command_numbers_each_disc_within_its_request(database: Database, tmp_path: Path) -> None:
    job_id = _job(database, tmp_path)
    with database.transaction() as session:
        work = store.next_command(session, device="img", owner="d1")
        assert work is not None
        command, size = work
        assert command.job_id == job_id and size > 0
        assert command.label is not None
        assert [m["COPY"] for m in command.label.merge] == ["1 of 2", "2 of 2"]
        assert command.label.merge[0]["CUSTOMER"] == "Ada"
        assert store.next_command(session, device="img", owner="someone-else") is None


def test_command_carries_a_patient_discs_face_fields_with_every_disc(
    database: Database, tmp_path: Path
) -> None:
    # a hot-folder robot prints a patient disc's face with its own design (PTBurn
    # MergeField 2.1.40, TD Bridge REPLACE_FIELD): the fields travel in each merge set
    job_id = _job(database, tmp_path)
    face = {"PATIENT": "DOE, Jane", "PATIENT_ID": "P-7", "DISC": "1 of 1"}
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        request = session.get(store.Request, job.request_id)
        assert request is not None
        request.content.face_fields = face
        work = store.next_command(session, device="img", owner="d1")
        assert work is not None and work[0].label is not None
        merge = work[0].label.merge
        assert [m["COPY"] for m in merge] == ["1 of 2", "2 of 2"]
        assert all(m["PATIENT"] == "DOE, Jane" and m["DISC"] == "1 of 1" for m in merge)
        assert merge[0]["PATIENT_ID"] == "P-7" and merge[0]["CUSTOMER"] == "Ada"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [({"PATIENT": "A\nPrintLabel=x"}, "line breaks"), ({"1PATIENT": "A"}, "merge field name")],
)
def test_a_content_with_face_fields_a_robot_cannot_take_is_refused(
    database: Database, fields: dict[str, str], problem: str
) -> None:
    with database.transaction() as session, pytest.raises(InvalidInput, match=problem):
        store.add_content(session, title="t", sha256="0" * 64, size_bytes=1, face_fields=fields)


def test_command_carries_the_requests_priority(database: Database, tmp_path: Path) -> None:
    job_id = _job(database, tmp_path)
    with database.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        request = session.get(store.Request, job.request_id)
        assert request is not None
        request.priority = Priority.RUSH
        work = store.next_command(session, device="img", owner="d1")
        assert work is not None and work[0].priority is Priority.RUSH
