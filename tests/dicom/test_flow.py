"""A hospital's PACS to a verified patient disc, end to end, every part real.

``discflow serve --dicom-port`` (API, in-process dispatcher, DICOM SCP) and an
``image`` agent run as processes on loopback; pynetdicom is the SCU (C-ECHO,
C-STORE of a study made from pydicom's test files, N-CREATE, N-ACTION initiate
with 2 copies, N-GET until DONE, PS3.4 Annex S). The burned images are read back
with pycdlib; the DICOMDIR is opened with pydicom; the disc face and mailing label
are read back with pdftotext; a relay on loopback catches the outgoing mail.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pycdlib
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet
from sqlalchemy import select

from discflow import store
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.dicom import MediaRequest, allow_peer, face_pdf_path
from discflow.store import Database, Role
from tests.dicom.peers import (
    MCM,
    PATIENT_ID,
    association,
    create_request,
    initiate,
    study,
)
from tests.mail.conftest import Relay
from tests.utils.processes import free_port, started
from tests.utils.system import server_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

DEVICE = DeviceSpec("img-dicom", "image", 1, {"CD-R": MediaSpec(50, 20_000_000, 0.0, 5)})
SURNAME = "Quexbrill"


@dataclass
class World:
    base: str
    dicom_port: int
    database: Database
    fleet: Fleet
    relay: Relay
    data: Path
    labels: Path
    log: Path
    operator: dict[str, str]
    stranger: dict[str, str]


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    data = tmp_path / "data"
    port, dicom_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    relay = Relay(port=free_port())
    relay.start()
    env = server_env(
        data=data,
        database_url=database_url,
        labels=tmp_path / "labels",
        DISCFLOW_RUN_DISPATCHER="1",
        DISCFLOW_SMTP_RELAY_HOST="127.0.0.1",
        DISCFLOW_SMTP_RELAY_PORT=str(relay.port),
        DISCFLOW_MAIL_FROM="discflow@discs.example.org",
        DISCFLOW_MAIL_POLL_S="0.2",
        DISCFLOW_DICOM_SWEEP_INTERVAL_S="1",
    )
    database = Database(database_url)
    database.migrate()
    with database.transaction() as session:
        store.ensure_user(session, "harbour", role=Role.CUSTOMER, email="films@harbour.example.org")
        allow_peer(session, ae_title="PACS1", user="harbour")
        operator = store.create_token(
            session, store.ensure_user(session, "otto", role=Role.OPERATOR)
        )
        stranger = store.create_token(
            session, store.ensure_user(session, "cara", role=Role.CUSTOMER)
        )
    fleet = Fleet(database, tmp_path / "agents", server_url=base)
    log = tmp_path / "serve.log"
    try:
        with started(
            ["serve", "--port", str(port), "--dicom-port", str(dicom_port)],
            env,
            ready_url=f"{base}/api/v1/health",
            log=log,
        ):
            fleet.add(DEVICE)
            fleet.start(DEVICE.name)
            try:
                fleet.wait_ready()
                yield World(
                    base, dicom_port, database, fleet, relay, data, tmp_path / "labels", log,
                    {"Authorization": f"Bearer {operator}"},
                    {"Authorization": f"Bearer {stranger}"},
                )  # fmt: skip
            finally:
                fleet.stop_all()
    finally:
        relay.stop()
        database.dispose()


def _n_get(assoc: object, uid: str) -> Dataset:
    status, reply = assoc.send_n_get(  # type: ignore[attr-defined]
        [0x21000020, 0x21000030, 0x2200000B, 0x00081198, 0x2200000D], MCM, uid
    )
    assert status.Status == 0x0000
    return reply


def _iso_files(iso_path: Path, out: Path) -> list[str]:
    """Every file of the ISO 9660 tree, extracted under ``out``; returns the ISO paths."""
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    names = []
    try:
        for root, _dirs, files in iso.walk(iso_path="/"):
            for name in files:
                full = (root.rstrip("/") + "/" + name).lstrip("/")
                names.append(full)
                plain = full.split(";")[0].rstrip(".")
                target = out / plain
                target.parent.mkdir(parents=True, exist_ok=True)
                iso.get_file_from_iso(str(target), iso_path="/" + full)
    finally:
        iso.close()
    return names


def _pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def _wait_built(world: World, uid: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with world.database.transaction() as session:
            request = session.get(MediaRequest, uid)
            if request is not None and request.state != "building":
                return
        time.sleep(0.2)
    raise AssertionError("the file-sets were not built within 60 s")


def _drive_the_request(world: World) -> str:
    datasets = study(4)
    with association(world.dicom_port) as assoc:
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0x0000
        status, _ = assoc.send_n_create(create_request(datasets), MCM, None)
        assert status.Status == 0x0000
        uid = assoc.responses.affected[-1]
        status, _ = assoc.send_n_action(initiate(2, "HIGH"), 1, MCM, uid)
        assert status.Status == 0x0000
        seen = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            reply = _n_get(assoc, uid)
            seen.append(str(reply.ExecutionStatus))
            if reply.ExecutionStatus in ("DONE", "FAILURE"):
                break
            time.sleep(0.5)
        assert reply.ExecutionStatus == "DONE", (seen, reply)
        assert reply.TotalNumberOfPiecesOfMediaCreated == 2
        assert set(seen) <= {"PENDING", "CREATING", "DONE"}
        file_set_uid = str(reply.ReferencedStorageMediaSequence[0].StorageMediaFileSetUID)
    return file_set_uid


def test_pacs_to_verified_patient_disc(world: World, tmp_path: Path) -> None:
    file_set_uid = _drive_the_request(world)
    with world.database.transaction() as session:
        request = session.scalars(select(MediaRequest)).one()
        content_id = request.discs[0]["content_id"]
        order_id = request.order_id
        sha = store.get_content(session, content_id).sha256

    # two discs burned and verified by the image agent, each the archived image
    images = sorted((world.fleet.root / DEVICE.name / "discs").rglob("*.iso"))
    assert len(images) == 2
    for image in images:
        assert not any(SURNAME.lower() in part.lower() for part in image.parts)
    names = _iso_files(images[0], tmp_path / "disc")
    plain = {n.split(";")[0].rstrip(".") for n in names}
    assert {"DICOMDIR", "README.TXT", "INDEX.HTM"} <= plain
    dicom_files = [n for n in plain if n.startswith("DICOM/")]
    assert len(dicom_files) == 4
    for name in plain:
        for component in name.split("/"):
            stem, _, ext = component.partition(".")
            assert len(stem) <= 8 and len(ext) <= 3 and component == component.upper()
    fs = FileSet(tmp_path / "disc" / "DICOMDIR")
    assert str(fs.UID) == file_set_uid
    assert len(fs) == 4
    for instance in fs:
        on_disc = Path(instance.path)
        assert on_disc.is_file()
        assert dcmread(on_disc).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert "DICOM" in (tmp_path / "disc" / "README.TXT").read_text()

    # the disc face (labels package) and the mailing label (Media Disposition)
    face_path = face_pdf_path(world.data, content_id)
    assert face_path is not None
    face = _pdf_text(face_path)
    for expected in ("QUEXBRILL, Hildegard", PATIENT_ID, "1961-02-14", "2026-11-20",
                     "Knee left", "CT MR", "Harbour Imaging Centre", "DICOM ONLY",
                     "disc 1 of 1"):  # fmt: skip
        assert expected in face, (expected, face)
    deadline = time.monotonic() + 30
    while not list(world.labels.glob("*.pdf")) and time.monotonic() < deadline:
        time.sleep(0.3)
    mailing = "".join(_pdf_text(p) for p in world.labels.glob("*.pdf"))
    assert "Dr. Amadea Referrer" in mailing
    assert "Orthopaedics, 12 Harbour Road" in mailing
    assert "SPRINGFIELD" in mailing

    # privacy: the content is the ordering account's alone
    listed = httpx.get(f"{world.base}/api/v1/contents", headers=world.stranger).json()
    assert content_id not in {c["id"] for c in listed}
    assert httpx.get(f"{world.base}/api/v1/contents/{content_id}",
                     headers=world.stranger).status_code == 404  # fmt: skip
    order = httpx.post(
        f"{world.base}/api/v1/orders",
        headers=world.stranger,
        json={
            "requests": [{"content_id": content_id, "media": "CD-R", "copies": 1}],
            "ship_to": {
                "name": "C",
                "lines": ["1 St"],
                "city": "X",
                "postal_code": "1",
                "country": "US",
            },
        },
    )
    assert order.status_code == 404
    assert sha  # the image is in the archive by hash

    # ... and the patient's name is in none of: task log, server log, mail, metrics
    world.relay.wait_for(2, to="films@harbour.example.org", timeout=30)
    with world.database.transaction() as session:
        events = [
            json.dumps([e.type, e.message, e.data, e.actor]) for e in session.scalars(
                select(store.Event))
        ]  # fmt: skip
    assert any(order_id in e for e in events)
    scraped = httpx.get(f"{world.base}/metrics", headers=world.operator)  # not public
    assert scraped.status_code == 200
    metrics = scraped.text
    mails = [m.as_string() for m in world.relay.messages]
    for where, texts in (("events", events), ("server log", [world.log.read_text()]),
                         ("mail", mails), ("metrics", [metrics])):  # fmt: skip
        for text in texts:
            assert SURNAME.lower() not in text.lower(), where
            assert PATIENT_ID not in text, where


def test_cancelled_before_burning_nothing_is_burned(world: World) -> None:
    """A STD-GEN-DVD request on a floor with CD-R only waits; cancelled, it never burns."""
    datasets = study(2)
    with association(world.dicom_port) as assoc:
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0x0000
        status, _ = assoc.send_n_create(create_request(datasets, profile="STD-GEN-DVD"), MCM, None)
        uid = assoc.responses.affected[-1]
        assert assoc.send_n_action(initiate(1, "MED"), 1, MCM, uid)[0].Status == 0x0000
        assert _n_get(assoc, uid).ExecutionStatus == "PENDING"
        _wait_built(world, uid)  # while the file-sets are written a cancel is refused (C202)
        status, _ = assoc.send_n_action(None, 2, MCM, uid)
        assert status.Status == 0x0000
        time.sleep(3)  # several dispatcher rounds
        reply = _n_get(assoc, uid)
        assert reply.ExecutionStatus == "FAILURE"
        assert reply.TotalNumberOfPiecesOfMediaCreated == 0
    with world.database.transaction() as session:
        request = session.scalars(select(MediaRequest)).one()
        order = session.get(store.Order, request.order_id)
        assert order is not None and {r.state for r in order.requests} == {"cancelled"}
        assert session.scalars(select(store.Job)).all() == []
    assert not list((world.fleet.root / DEVICE.name / "discs").rglob("*.iso"))
