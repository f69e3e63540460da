"""The Media Creation Management SCP in-process, driven by a real pynetdicom SCU.

PS3.4 Annex S: N-CREATE (S.3.2.1), N-ACTION initiate (S.3.2.2) and cancel
(S.3.2.3), N-GET (S.3.2.4); Storage statuses from PS3.4 B.2.3.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import select

from discflow import store
from discflow.dicom import (
    DicomInstance,
    DicomService,
    MediaRequest,
)
from discflow.domain import RequestState
from discflow.store import Database
from tests.dicom.peers import MCM, association, create_request, initiate, study, write_study

pytestmark = pytest.mark.timeout(120)


def _store_all(assoc: object, datasets: list[Dataset]) -> None:
    for ds in datasets:
        status = assoc.send_c_store(ds)  # type: ignore[attr-defined]
        assert status.Status == 0x0000


def _create(assoc: object, datasets: list[Dataset], **attrs: object) -> tuple[int, str]:
    status, reply = assoc.send_n_create(  # type: ignore[attr-defined]
        create_request(datasets, **attrs), MCM, None
    )
    uid = assoc.responses.affected[-1] if int(status.Status) == 0 else ""  # type: ignore[attr-defined]
    return int(status.Status), uid


def _get(assoc: object, uid: str) -> Dataset:
    status, reply = assoc.send_n_get(  # type: ignore[attr-defined]
        [0x21000020, 0x21000030, 0x2200000B, 0x00081198, 0x2200000D], MCM, uid
    )
    assert status.Status == 0x0000
    return reply


def test_echo_and_unknown_ae_title_is_rejected_at_association(service: DicomService) -> None:
    with association(service.port) as assoc:
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
    with association(service.port, "STRANGER") as refused:
        assert refused.is_rejected and not refused.is_established
    # a host-bound title from another host is refused too (PACS2 is bound to 127.0.0.1)
    with association(service.port, "PACS2") as allowed:
        assert allowed.is_established


def test_malformed_dataset_is_refused_and_leaves_nothing(
    service: DicomService, database: Database, tmp_path: Path
) -> None:
    good = study(1)[0]
    # bytes a reader cannot decode, sent as they are from a file: an Explicit VR
    # "US" element of 3 bytes, and a dataset cut off in the middle of an element
    good.SOPClassUID = good.file_meta.MediaStorageSOPClassUID
    whole = tmp_path / "good.dcm"
    good.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    good.save_as(whole, enforce_file_format=True)
    odd = tmp_path / "odd-length.dcm"
    odd.write_bytes(whole.read_bytes() + struct.pack("<HH", 0x7FE1, 0x1001) + b"US"
                    + struct.pack("<H", 3) + b"\x01\x02\x03")  # fmt: skip
    status_codes = []
    with association(service.port) as assoc:
        status_codes.append(int(assoc.send_c_store(odd).Status))
    assert status_codes == [0xC000]
    with database.transaction() as session:
        assert session.scalars(select(DicomInstance)).all() == []
    assert list(service.ctx.spool.glob("*.dcm")) == []


def test_n_create_refusals_use_the_standard_statuses(service: DicomService) -> None:
    with association(service.port) as assoc:
        empty = Dataset()
        empty.LabelText = "no references"
        status, _ = assoc.send_n_create(empty, MCM, None)
        assert status.Status == 0x0120  # Missing attribute: Referenced SOP Sequence
        code, _ = _create(assoc, study(1), IncludeDisplayApplication="YES")
        assert code == 0x0106  # no viewer is written: cannot be honoured
        code, _ = _create(assoc, study(1), AllowMediaSplitting="MAYBE")
        assert code == 0x0106


def test_unknown_instance_fails_at_n_get_not_at_n_create(
    service: DicomService, database: Database
) -> None:
    datasets = study(2)
    with association(service.port) as assoc:
        _store_all(assoc, datasets[:1])  # the second one never arrives
        code, uid = _create(assoc, datasets)
        assert code == 0x0000 and uid  # the SCP assigned the SOP Instance UID
        assert _get(assoc, uid).ExecutionStatus == "IDLE"
        status, _ = assoc.send_n_action(initiate(), 1, MCM, uid)
        assert status.Status == 0x0000
        assert service.wait_idle()  # the file-sets are checked and built after the answer
        reply = _get(assoc, uid)
        assert reply.ExecutionStatus == "FAILURE"
        assert reply.ExecutionStatusInfo == "NO_INSTANCE"
        failed = [item.ReferencedSOPInstanceUID for item in reply.FailedSOPSequence]
        assert failed == [datasets[1].SOPInstanceUID]
        assert reply.FailedSOPSequence[0].FailureReason == 0x0112
        # a second initiate of the same request: A510
        status, _ = assoc.send_n_action(initiate(), 1, MCM, uid)
        assert status.Status == 0xA510
    with database.transaction() as session:
        assert session.scalars(select(store.Order)).all() == []  # nothing half-done


def _ordered(service: DicomService, **attrs: object) -> tuple[str, str]:
    datasets = study(3)
    with association(service.port) as assoc:
        _store_all(assoc, datasets)
        code, uid = _create(assoc, datasets, **attrs)
        assert code == 0
        status, _ = assoc.send_n_action(initiate(2, "HIGH"), 1, MCM, uid)
        assert status.Status == 0x0000
        assert _get(assoc, uid).ExecutionStatus == "PENDING"  # building, then queued
        assert service.wait_idle()
        assert _get(assoc, uid).ExecutionStatus == "PENDING"
    with service.ctx.database.transaction() as session:
        request = session.get(MediaRequest, uid)
        assert request is not None and request.order_id is not None
        order = session.get(store.Order, request.order_id)
        assert order is not None
        assert {r.priority for r in order.requests} == {"rush"}  # Request Priority HIGH
        return uid, request.order_id


def test_cancel_before_burning_cancels_the_order(service: DicomService) -> None:
    uid, order_id = _ordered(service)
    with association(service.port) as assoc:
        status, _ = assoc.send_n_action(None, 2, MCM, uid)
        assert status.Status == 0x0000
        assert _get(assoc, uid).ExecutionStatus == "FAILURE"  # never DONE
        status, _ = assoc.send_n_action(None, 2, MCM, uid)
        assert status.Status == 0xC203
    with service.ctx.database.transaction() as session:
        order = session.get(store.Order, order_id)
        assert order is not None
        assert {r.state for r in order.requests} == {"cancelled"}


def test_cancel_after_burning_started_is_refused_and_done_says_completed(
    service: DicomService,
) -> None:
    uid, order_id = _ordered(service)
    with service.ctx.database.transaction() as session:
        order = session.get(store.Order, order_id)
        assert order is not None
        for request in order.requests:
            for target in (RequestState.ASSIGNED, RequestState.BURNING):
                store.transition_request(session, request, target)
    with association(service.port) as assoc:
        status, _ = assoc.send_n_action(None, 2, MCM, uid)
        assert status.Status == 0xC202
        assert _get(assoc, uid).ExecutionStatus == "CREATING"
    with service.ctx.database.transaction() as session:
        order = session.get(store.Order, order_id)
        assert order is not None
        for request in order.requests:
            store.transition_request(session, request, RequestState.VERIFYING)
            store.transition_request(session, request, RequestState.DONE)
            request.good_copies = request.copies
    with association(service.port) as assoc:
        reply = _get(assoc, uid)
        assert reply.ExecutionStatus == "DONE"
        assert reply.TotalNumberOfPiecesOfMediaCreated == 2
        assert len(reply.ReferencedStorageMediaSequence) == 1
        status, _ = assoc.send_n_action(None, 2, MCM, uid)
        assert status.Status == 0xC201
    # verified and not to be preserved: the instances are gone
    with service.ctx.database.transaction() as session:
        assert session.scalars(select(DicomInstance)).all() == []
    assert list(service.ctx.spool.glob("*.dcm")) == []


def test_a_request_is_invisible_to_another_account(service: DicomService) -> None:
    uid, _ = _ordered(service)
    with association(service.port, "PACS2") as assoc:
        status, _ = assoc.send_n_get([0x21000020], MCM, uid)
        assert status.Status == 0x0112
        status, _ = assoc.send_n_action(None, 2, MCM, uid)
        assert status.Status == 0x0112


def test_preserve_composite_instances_keeps_them_after_done(service: DicomService) -> None:
    uid, order_id = _ordered(service, PreserveCompositeInstancesAfterMediaCreation="YES")
    with service.ctx.database.transaction() as session:
        order = session.get(store.Order, order_id)
        assert order is not None
        for request in order.requests:
            for target in (RequestState.ASSIGNED, RequestState.BURNING, RequestState.VERIFYING,
                           RequestState.DONE):  # fmt: skip
                store.transition_request(session, request, target)
            request.good_copies = request.copies
    service.sweep()  # the sweep settles ordered requests as N-GET would
    with association(service.port) as assoc:
        assert _get(assoc, uid).ExecutionStatus == "DONE"
    with service.ctx.database.transaction() as session:
        rows = session.scalars(select(DicomInstance)).all()
        assert len(rows) == 3 and all(r.preserve for r in rows)
    assert len(list(service.ctx.spool.glob("*.dcm"))) == 3
    # ... until their time-to-live, restarted at initiate, runs out: then they go too
    with service.ctx.database.transaction() as session:
        for row in session.scalars(select(DicomInstance)):
            assert row.expires_at > row.received_at
            row.expires_at = row.received_at
    service.sweep()
    assert list(service.ctx.spool.glob("*.dcm")) == []


def test_pynetdicom_apps_work_against_it(service: DicomService, tmp_path: Path) -> None:
    """The README's commands: ``python -m pynetdicom echoscu`` / ``storescu``."""
    [path] = write_study(tmp_path / "study", study(1))
    port = str(service.port)
    for app, extra in (("echoscu", []), ("storescu", [str(path)])):
        done = subprocess.run(
            [sys.executable, "-m", "pynetdicom", app, "127.0.0.1", port, "-aet", "PACS1",
             "-aec", "DISCFLOW", *extra],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "pynetdicom", "echoscu", "127.0.0.1", port, "-aet", "NOBODY"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Calling AE title not recognised" in refused.stdout + refused.stderr
    with service.ctx.database.transaction() as session:
        assert len(session.scalars(select(DicomInstance)).all()) == 1


def test_a_build_cut_off_by_a_restart_is_done_on_the_next_start(service: DicomService) -> None:
    datasets = study(2)
    with association(service.port) as assoc:
        _store_all(assoc, datasets)
        code, uid = _create(assoc, datasets)
        assert code == 0
    with service.ctx.database.transaction() as session:
        request = session.get(MediaRequest, uid)
        assert request is not None
        request.state = "building"  # as a server killed between the claim and the order left it
    service.stop()
    again = DicomService(service.ctx)
    again.start()
    try:
        assert again.wait_idle()
        with service.ctx.database.transaction() as session:
            request = session.get(MediaRequest, uid)
            assert request is not None and request.state == "ordered"
            assert len(session.scalars(select(store.Order)).all()) == 1
    finally:
        again.stop()
