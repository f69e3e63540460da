"""``discflow dicom allow`` and ``discflow content add-dicom`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pycdlib
from sqlalchemy import select

from discflow import store
from discflow.dicom import DicomPeer
from discflow.settings import Settings
from discflow.store import Database, Role
from tests.dicom.peers import study, write_study
from tests.utils.processes import DISCFLOW, run_cli


def _env(settings: Settings) -> dict[str, str]:
    return {
        "DISCFLOW_DATA_DIR": str(settings.data_dir),
        "DISCFLOW_DATABASE_URL": settings.resolved_database_url(),
    }


def test_allow_maps_an_ae_title_to_an_account(settings: Settings, database: Database) -> None:
    with database.transaction() as session:
        store.ensure_user(session, "harbour", role=Role.CUSTOMER)
    out = run_cli(["dicom", "allow", "--ae-title", "PACS1", "--user", "harbour",
                   "--host", "10.0.0.5"], _env(settings))  # fmt: skip
    assert "PACS1" in out and "10.0.0.5" in out
    with database.transaction() as session:
        peer = session.scalars(select(DicomPeer)).one()
        assert (peer.ae_title, peer.host) == ("PACS1", "10.0.0.5")
    bad = subprocess.run(
        [*DISCFLOW, "dicom", "allow", "--ae-title", "A\\B", "--user", "harbour"],
        env={**os.environ, **_env(settings)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "backslash" in bad.stderr
    with database.transaction() as session:
        assert len(session.scalars(select(DicomPeer)).all()) == 1
    assert "harbour" in run_cli(["dicom", "list"], _env(settings))


def test_add_dicom_from_a_folder_and_from_a_zip(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    paths = write_study(tmp_path / "study", study(3))
    (tmp_path / "study" / "notes.txt").write_text("not DICOM")
    out = run_cli(["content", "add-dicom", str(tmp_path / "study"), "--title", "Study A"],
                  _env(settings))  # fmt: skip
    assert "3 instances, 1 other files skipped" in out
    folder_id = out.strip().splitlines()[-1]
    bundle = tmp_path / "study.zip"
    with zipfile.ZipFile(bundle, "w") as zipped:
        for path in paths:
            zipped.write(path, f"export/{path.name}")
    out = run_cli(["content", "add-dicom", str(bundle), "--title", "Study B"], _env(settings))
    zip_id = out.strip().splitlines()[-1]
    with database.transaction() as session:
        for content_id in (folder_id, zip_id):
            content = store.get_content(session, content_id)
            iso = pycdlib.PyCdlib()
            iso.open(str(settings.archive_dir / "blobs" / "sha256" / content.sha256[:2]
                         / content.sha256[2:4] / f"{content.sha256}.iso"))  # fmt: skip
            names = [r.file_identifier().decode() for r in iso.list_children(iso_path="/")]
            iso.close()
            assert {"DICOMDIR;1", "README.TXT;1", "INDEX.HTM;1", "DICOM"} <= set(names), names


def test_add_dicom_refuses_a_zip_that_leaves_its_folder(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    bundle = tmp_path / "evil.zip"
    with zipfile.ZipFile(bundle, "w") as zipped:
        zipped.writestr("../../outside.dcm", b"x")
    done = subprocess.run(
        [*DISCFLOW, "content", "add-dicom", str(bundle), "--title", "Evil"],
        env={**os.environ, **_env(settings)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "leaves the folder" in done.stderr
    assert not (tmp_path.parent / "outside.dcm").exists()
    with database.transaction() as session:
        assert session.scalars(select(store.Content)).all() == []
