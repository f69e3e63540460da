"""The DICOM service in-process on a free loopback port, with two allowed PACS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from discflow import store
from discflow.archive import BlobStore
from discflow.dicom import Context, DicomService, DicomSettings, allow_peer
from discflow.settings import Settings
from discflow.store import Database, Role


@pytest.fixture
def dicom_settings() -> DicomSettings:
    return DicomSettings(port=0, sweep_interval_s=3600)


@pytest.fixture
def service(
    database: Database, settings: Settings, dicom_settings: DicomSettings
) -> Iterator[DicomService]:
    with database.transaction() as session:
        store.ensure_user(session, "harbour", role=Role.CUSTOMER)
        store.ensure_user(session, "other", role=Role.CUSTOMER)
        allow_peer(session, ae_title="PACS1", user="harbour")
        allow_peer(session, ae_title="PACS2", user="other", host="127.0.0.1")
    ctx = Context(database, BlobStore(settings.archive_dir), dicom_settings, settings.data_dir)
    svc = DicomService(ctx)
    svc.start()
    yield svc
    svc.stop()
