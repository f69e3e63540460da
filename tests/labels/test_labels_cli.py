"""``discflow labels render|print`` end to end through the Typer app."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discflow.cli import _register, app
from tests.labels.labels_support import CupsQueue, pdfinfo, pdftotext, wait_for_pdf

_register()
runner = CliRunner()

ENTRIES = [
    {
        "order_id": "ORD-7",
        "request_id": "REQ-7-1",
        "ship_to": {"name": "Jürgen Groß", "lines": ["Königstraße 12"], "city": "Stuttgart",
                    "region": None, "postal_code": "70173", "country": "DE"},
    },
    {
        "order_id": "ORD-7",
        "request_id": "REQ-7-2",
        "ship_to": {"name": "Jane Doe", "lines": ["1 Main St"], "city": "Springfield",
                    "region": "IL", "postal_code": "62701", "country": "us"},
    },
]  # fmt: skip


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "addresses.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_render_pdf_sheet(tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"
    result = runner.invoke(
        app, ["labels", "render", "--addresses", str(_write(tmp_path, ENTRIES)),
              "--sheet", "avery-l7160", "--format", "pdf", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pdfinfo(out)["Page size"].startswith("595.276 x 841.89")
    text = pdftotext(out)
    assert "70173 Stuttgart" in text and "GERMANY" in text
    assert "SPRINGFIELD, IL 62701" in text


def test_render_zpl(tmp_path: Path) -> None:
    out = tmp_path / "labels.zpl"
    result = runner.invoke(
        app, ["labels", "render", "--addresses", str(_write(tmp_path, ENTRIES)),
              "--sheet", "4x6", "--format", "zpl", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    zpl = out.read_text(encoding="utf-8")
    assert zpl.count("^XA") == zpl.count("^XZ") == 2
    assert "^FD>:ORD-7/REQ-7-2^FS" in zpl


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "not valid JSON (line 1"),
        ([], "non-empty JSON list"),
        ([{"order_id": "O", "request_id": "R"}], "ship_to must be an object"),
        ([{**ENTRIES[0], "request_id": 5}], "request_id is missing or not a string"),
        ([{**ENTRIES[0], "ship_to": {**ENTRIES[0]["ship_to"], "country": "Germany"}}],  # type: ignore[dict-item]
         "two-letter ISO code"),
        ([{**ENTRIES[0], "ship_to": {**ENTRIES[0]["ship_to"], "zip": "1"}}],  # type: ignore[dict-item]
         "unknown keys ['zip']"),
    ],
)  # fmt: skip
def test_bad_input_is_explained(tmp_path: Path, data: object, message: str) -> None:
    path = tmp_path / "addresses.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    result = runner.invoke(
        app, ["labels", "render", "--addresses", str(path), "--out", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.cups
def test_print_through_cups(tmp_path: Path, cups_queue: CupsQueue) -> None:
    entries = [{**e, "order_id": f"ORD-CLI{os.getpid()}"} for e in ENTRIES]
    result = runner.invoke(
        app, ["labels", "print", "--addresses", str(_write(tmp_path, entries)),
              "--printer", cups_queue.name],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"printed 2 label(s) on {cups_queue.name}: job {cups_queue.name}-" in result.output
    out = wait_for_pdf(cups_queue.output_dir, f"ORD-CLI{os.getpid()}")
    try:
        assert pdfinfo(out)["Page size"].startswith("612 x 792")
        assert "SPRINGFIELD, IL 62701" in pdftotext(out)
    finally:
        out.unlink()


@pytest.mark.cups
def test_print_to_a_missing_queue_fails_with_advice(tmp_path: Path, cups_queue: CupsQueue) -> None:
    result = runner.invoke(
        app, ["labels", "print", "--addresses", str(_write(tmp_path, ENTRIES)),
              "--printer", "no-such-queue"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "does not exist" in result.output
