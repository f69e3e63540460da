"""Patient discs: a DICOM Media Creation Management SCP and IHE PDI disc images.

Public API:

- ``DicomSettings`` (``DISCFLOW_DICOM_*``), ``DicomService(Context)`` with
  ``start()``, ``stop()``, ``port``, ``sweep()``; ``dicom_service(settings)``, a
  context manager the ``serve`` command wraps around the web server.
- ``allow_peer``, ``account_for``, ``list_peers``: the AE-title allow list.
- ``build_discs`` / ``PdiRefusal`` / ``DiscTree``: IHE PDI file-set folders.
- ``add_dicom_content``: a folder or zip of DICOM files as a private content.
- ``face_fields`` / ``render_face``: the patient disc face through ``labels``;
  ``face_pdf_path(data_dir, content_id)`` finds the one rendered for a content.
- ``parse_disposition``: a Media Disposition as a mailing address.

See docs/dicom.md for the statuses, the privacy rules and the decisions.
"""

from discflow.dicom._face import PatientFace, face_fields, face_pdf_path, render_face
from discflow.dicom._ingest import add_dicom_content
from discflow.dicom._initiate import Context
from discflow.dicom._pdi import DiscTree, PdiRefusal, build_discs, plan_discs
from discflow.dicom._peers import account_for, allow_peer, list_peers
from discflow.dicom._run import dicom_service
from discflow.dicom._scp import DicomService, status_dataset
from discflow.dicom._settings import DicomSettings
from discflow.dicom._ship import parse_disposition
from discflow.dicom._tables import DicomInstance, DicomPeer, MediaRequest

__all__ = [
    "Context",
    "DicomInstance",
    "DicomPeer",
    "DicomService",
    "DicomSettings",
    "DiscTree",
    "MediaRequest",
    "PatientFace",
    "PdiRefusal",
    "account_for",
    "add_dicom_content",
    "allow_peer",
    "build_discs",
    "dicom_service",
    "face_fields",
    "face_pdf_path",
    "list_peers",
    "parse_disposition",
    "plan_discs",
    "render_face",
    "status_dataset",
]
