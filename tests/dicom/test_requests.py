"""Splitting over discs, expiry and privacy through the SCP (PS3.4 S.3.2.1.1.6, S.3.2.2.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from discflow import store
from discflow.dicom import DicomInstance, DicomService, DicomSettings, MediaRequest
from discflow.errors import NotFound
from discflow.store import Principal, Role, utcnow
from tests.dicom.peers import MCM, association, create_request, initiate, study

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def dicom_settings() -> DicomSettings:
    # one MR instance (~10 kB) and a bit more per "disc": a 4-instance study needs several
    return DicomSettings(port=0, sweep_interval_s=3600, disc_capacity_bytes=4 * 1024**2 + 45_000)


def _send(service: DicomService, splitting: str) -> tuple[str, object]:
    datasets = study(4)
    with association(service.port) as assoc:
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0
        status, _ = assoc.send_n_create(
            create_request(datasets, AllowMediaSplitting=splitting), MCM, None
        )
        uid = assoc.responses.affected[-1]
        status, _ = assoc.send_n_action(initiate(1, "LOW"), 1, MCM, uid)
        assert status.Status == 0
        assert service.wait_idle()
        status, reply = assoc.send_n_get([0x21000020, 0x21000030, 0x2200000D], MCM, uid)
        return uid, reply


def test_split_allowed_gives_one_complete_disc_per_piece(service: DicomService) -> None:
    uid, reply = _send(service, "YES")
    assert reply.ExecutionStatus == "PENDING"
    pieces = reply.ReferencedStorageMediaSequence
    assert len(pieces) >= 2
    with service.ctx.database.transaction() as session:
        request = session.get(MediaRequest, uid)
        assert request is not None and request.order_id is not None
        order = session.get(store.Order, request.order_id)
        assert order is not None and len(order.requests) == len(pieces)
        assert all(r.copies == 1 and r.priority == "low" for r in order.requests)
        for disc in request.discs:
            content = store.get_content(session, disc["content_id"])
            assert content.owner_user_id == request.user_id
            assert "Quexbrill" not in content.title
            # the face a robot's own design prints: patient, study and which disc
            face = content.face_fields
            assert face["PATIENT"] == "QUEXBRILL, Hildegard"
            assert face["STUDY_DATE"] == "2026-11-20"
            assert face["DISC"] == f"{disc['number']} of {len(pieces)}"
            assert face["DISC_CONTENT"] == "DICOM ONLY"
    faces = sorted(service.ctx.settings.faces_dir(service.ctx.data_dir).glob("*.pdf"))
    assert len(faces) == len(pieces)


def test_split_not_allowed_fails_with_set_oversized_and_orders_nothing(
    service: DicomService,
) -> None:
    uid, reply = _send(service, "NO")
    assert reply.ExecutionStatus == "FAILURE"
    assert reply.ExecutionStatusInfo == "SET_OVERSIZED"
    with service.ctx.database.transaction() as session:
        assert session.scalars(select(store.Order)).all() == []
        assert session.scalars(select(store.Content)).all() == []
    assert not list(service.ctx.blobs.root.rglob("*.iso"))


def test_unclaimed_instances_expire_and_named_ones_wait(service: DicomService) -> None:
    datasets = study(2)
    with association(service.port) as assoc:
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0
        assoc.send_n_create(create_request(datasets[:1]), MCM, None)  # names the first only
    with service.ctx.database.transaction() as session:
        for row in session.scalars(select(DicomInstance)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    service.sweep()
    with service.ctx.database.transaction() as session:
        kept = [r.sop_instance_uid for r in session.scalars(select(DicomInstance))]
    assert kept == [str(datasets[0].SOPInstanceUID)]
    assert len(list(service.ctx.spool.glob("*.dcm"))) == 1


def test_patient_content_is_not_in_the_catalog(service: DicomService) -> None:
    uid, _ = _send(service, "YES")
    with service.ctx.database.transaction() as session:
        request = session.get(MediaRequest, uid)
        assert request is not None
        content = store.get_content(session, request.discs[0]["content_id"])
        assert store.search_contents(session, "Patient disc") == []
        assert store.search_contents(session, "") == []
        other = store.ensure_user(session, "someone", role=Role.CUSTOMER)
        with pytest.raises(NotFound):
            store.check_visible(content, Principal(other.id, other.name, Role.CUSTOMER))
        owner = Principal(request.user_id, "harbour", Role.CUSTOMER)
        assert store.check_visible(content, owner) is content
        assert store.check_visible(content, Principal(None, "op", Role.OPERATOR)) is content
