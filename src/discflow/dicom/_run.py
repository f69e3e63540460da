"""Running the DICOM service beside the web server (the ``serve`` command's hook)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from discflow.archive import BlobStore
from discflow.dicom._initiate import Context
from discflow.dicom._scp import DicomService
from discflow.dicom._settings import DicomSettings
from discflow.settings import Settings
from discflow.store import Database


@contextmanager
def dicom_service(settings: Settings, *, port: int | None = None) -> Iterator[DicomService | None]:
    """The DICOM SCP on ``port`` (or ``DISCFLOW_DICOM_PORT``) while the block runs;
    nothing when neither is set."""
    dicom = DicomSettings()
    if port is not None:
        dicom = dicom.model_copy(update={"port": port})
    if not dicom.port:
        yield None
        return
    database = Database(settings.resolved_database_url())
    database.migrate()
    ctx = Context(database, BlobStore(settings.archive_dir), dicom, settings.data_dir)
    service = DicomService(ctx)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        database.dispose()
