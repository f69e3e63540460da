"""Disc faces in production: per-copy merge values reach every driver's face.

image/xorriso render the face (PDF) beside each disc; PTBurn gets PrintLabel +
MergeField (tests/agent/test_ptburn.py), TD Bridge LABEL + REPLACE_FIELD (below).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from discflow.agent.drivers._ptburn import PTBurnOptions
from discflow.agent.drivers._tdbridge import TDBridgeOptions, merge_lines

from .conftest import content, final, make_config, running, upload, wait_for
from .robots import standin
from .test_ptburn import config as ptburn_config
from .test_tdbridge import PUBLISHER, order
from .test_tdbridge import config as tdbridge_config

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="reads PDFs back")


async def test_each_image_copy_gets_its_own_rendered_face(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, drives=2)
    label = {
        "merge": [{"TITLE": "Knee MRI", "ORDER": "O-17", "CUSTOMER": "Dr. Weiß",
                   "DATE": "2026-12-01"}]
    }  # fmt: skip
    async with running(cfg) as client:
        sha = await upload(client, content(30_000)[0])
        response = await client.post("/v1/jobs", json={
            "job_id": "faces", "content_sha256": sha, "media": "CD-R", "copies": 2,
            "label": label})  # fmt: skip
        assert response.status_code == 201, response.text
        body = await wait_for(client, "faces", final)
    assert body["state"] == "done"
    texts = []
    for copy in body["copies"]:
        face = Path(copy["output"] + ".face.pdf")
        text = subprocess.run(["pdftotext", str(face), "-"], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip
        texts.append(" ".join(text.split()))
    assert all("Knee MRI" in t and "O-17" in t and "Weiß" in t for t in texts)
    assert sorted("1 of 2" in t for t in texts) == [False, True]
    assert sorted("2 of 2" in t for t in texts) == [False, True]


async def test_the_dispatchers_legacy_label_still_gets_a_face(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, drives=1)
    async with running(cfg) as client:
        sha = await upload(client, content(10_000)[0])
        await client.post("/v1/jobs", json={
            "job_id": "legacy", "content_sha256": sha, "media": "CD-R", "copies": 1,
            "label": {"title": "Scans", "order_id": 12, "request_id": 30,
                      "customer": "Ann"}})  # fmt: skip
        body = await wait_for(client, "legacy", final)
    assert Path(body["copies"][0]["output"] + ".face.pdf").stat().st_size > 500


def test_td_bridge_merge_file_has_one_line_per_disc() -> None:
    lines = merge_lines(
        order("CD-R", merge=({"TITLE": "A", "COPY": "1 of 2"}, {"TITLE": "A", "COPY": "2 of 2"}))
    )
    assert lines == ["A\t1 of 2", "A\t2 of 2"]


# ---- a robot's own design, configured per device (patient discs) ------------------------

PATIENT_SETS = [
    {"TITLE": "Patient disc 3f2a 1 of 1", "COPY": f"{n} of 2", "PATIENT": "DOE, Jane",
     "PATIENT_ID": "P-7", "STUDY_DATE": "2026-11-20", "DISC": "1 of 1"}
    for n in (1, 2)
]  # fmt: skip


async def _patient_job(cfg: Any) -> None:
    """Two discs of a patient content whose job names no design, run to the end."""
    async with running(cfg) as client:
        sha = await upload(client, content(20_000)[0])
        response = await client.post("/v1/jobs", json={
            "job_id": "pat", "content_sha256": sha, "media": "CD-R", "copies": 2,
            "label": {"merge": PATIENT_SETS}})  # fmt: skip
        assert response.status_code == 201, response.text
        body = await wait_for(client, "pat", final, timeout=20)
    assert body["state"] == "done", body


async def test_ptburn_prints_the_configured_design_in_its_field_order(tmp_path: Path) -> None:
    # PTBurn SDK 2.1.12 (PrintLabel) and 2.1.40 (MergeField: by position, one set a job):
    # a job that names no design gets the device's, its values in the design's order
    jobs = tmp_path / "PTBurnJobs"
    design = r"C:\Labels\patient.std"
    fields = ["PATIENT", "PATIENT_ID", "STUDY_DATE", "DISC", "COPY", "INSTITUTION"]
    cfg = ptburn_config(tmp_path, jobs, label_design=design, label_fields=fields)
    with standin("ptburn", jobs):
        await _patient_job(cfg)
    jobs_done = sorted(p.read_text("cp1252").splitlines() for p in jobs.glob("*.DON"))
    assert len(jobs_done) == 2  # one robot job per disc: each has its own COPY
    for lines, n in zip(jobs_done, (1, 2), strict=True):
        assert f"PrintLabel={design}" in lines
        merged = [line.removeprefix("MergeField=") for line in lines if "MergeField=" in line]
        # a field the set lacks (INSTITUTION) prints empty, keeping the later ones in place
        assert merged == ["DOE, Jane", "P-7", "2026-11-20", "1 of 1", f"{n} of 2", ""]


@pytest.mark.parametrize("design", [r"C:\Labels\patient.pdf", "C:\\Labels\\a\nb.std"])
def test_ptburn_refuses_a_design_it_cannot_print(design: str) -> None:
    with pytest.raises(ValidationError, match="label_design"):
        PTBurnOptions(jobs_dir=Path("/j"), label_design=design)


def test_label_fields_are_merge_field_names_once_each() -> None:
    with pytest.raises(ValidationError, match="twice"):
        PTBurnOptions(jobs_dir=Path("/j"), label_fields=["PATIENT", "patient"])
    with pytest.raises(ValidationError, match="merge field name"):
        TDBridgeOptions(jobs_dir=Path("/j"), publisher="P", label_fields=["PATIENT ID"])


async def test_td_bridge_gets_the_configured_design_and_ordered_merge_lines(
    tmp_path: Path,
) -> None:
    # TD Bridge LABEL + REPLACE_FIELD: one line per disc, values in the design's order
    lines = merge_lines(order("CD-R", merge=tuple(PATIENT_SETS)), ["PATIENT", "COPY", "DISC"])
    assert lines == ["DOE, Jane\t1 of 2\t1 of 1", "DOE, Jane\t2 of 2\t1 of 1"]
    jobs = tmp_path / "TDBridge"
    design = r"C:\TDB\patient.tdd"
    cfg = tdbridge_config(tmp_path, jobs, label_design=design, label_fields=["PATIENT", "COPY"])
    with standin("tdbridge", jobs, "--publisher", PUBLISHER):
        await _patient_job(cfg)
    done = next(jobs.glob("*.DON")).read_text("cp1252").splitlines()
    assert f"LABEL={design}" in done and any(line.startswith("REPLACE_FIELD=") for line in done)
    assert (jobs / "_standin_ignored.txt").read_text().strip() == ""  # no ignored key
