"""Disc faces in production: per-copy merge values reach every driver's face.

image/xorriso render the face (PDF) beside each disc; PTBurn gets PrintLabel +
MergeField (tests/agent/test_ptburn.py), TD Bridge LABEL + REPLACE_FIELD (below).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from discflow.agent.drivers._tdbridge import merge_lines

from .conftest import content, final, make_config, running, upload, wait_for
from .test_tdbridge import order

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
