"""Printers: a real CUPS queue (cups-pdf) and the folder backend."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from discflow.labels import (
    CupsPrinter,
    FolderPrinter,
    Printer,
    PrinterNotFound,
    PrintFailed,
    format_address,
    render_sheet,
    sheet_spec,
)
from tests.labels.labels_support import CupsQueue, pdfinfo, pdftotext, wait_for_pdf, world_items


def test_backends_satisfy_the_printer_protocol(tmp_path: Path) -> None:
    assert isinstance(CupsPrinter("q"), Printer)
    assert isinstance(FolderPrinter(tmp_path), Printer)


def _gray(pdf: Path | bytes, dpi: int) -> tuple[int, int, bytes]:
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-gray", "-r", str(dpi), "-singlefile", str(src), f"{tmp}/out"],
            check=True, capture_output=True,
        )  # fmt: skip
        parts = (Path(tmp) / "out.pgm").read_bytes().split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    return width, height, parts[4][: width * height]


Gray = tuple[int, int, bytes]


def _ink(img: Gray, region: tuple[int, int, int, int]) -> int:
    w, _, px = img
    x0, y0, x1, y1 = region
    return sum(255 - px[y * w + x] for y in range(y0, y1) for x in range(x0, x1))


def _diff(a: Gray, b: Gray, region: tuple[int, int, int, int], dy: int) -> int:
    (wa, _, pa), (wb, _, pb) = a, b
    x0, y0, x1, y1 = region
    return sum(
        abs(pa[y * wa + x] - pb[(y + dy) * wb + x]) for y in range(y0, y1) for x in range(x0, x1)
    )


def _ascii_tokens(text: str) -> list[str]:
    return re.sub(r"[^\x21-\x7e]+", " ", text).split()


@pytest.mark.cups
@pytest.mark.parametrize(("sheet", "size"), [("avery-5160", "612 x 792"), ("avery-l7160", "595")])
def test_sheet_printed_through_cups_comes_out_whole(
    cups_queue: CupsQueue, sheet: str, size: str
) -> None:
    items = world_items()
    document = render_sheet(items, sheet=sheet)
    token = f"discflow-{sheet}-{os.getpid()}"
    job = CupsPrinter(cups_queue.name).submit(
        document, name=token, fmt="pdf", media=sheet_spec(sheet).cups_media
    )
    assert job.job_id.startswith(f"{cups_queue.name}-")
    out = wait_for_pdf(cups_queue.output_dir, token)
    try:
        info = pdfinfo(out)
        assert info["Page size"].startswith(size), info["Page size"]
        assert info["Pages"] == "1"
        printed = pdftotext(out)
        assert " ".join(printed.split()).count("Order ORD-") == len(items)  # one per request
        # cups-pdf goes PDF -> PostScript -> Ghostscript, which drops the fonts'
        # ToUnicode maps: text outside ASCII no longer extracts (the glyphs are still
        # there, see below). So every ASCII word of every address must read back...
        words = set(printed.split())
        for item in items:
            for line in format_address(item.ship_to):
                for word in _ascii_tokens(line):
                    assert word in words or any(word in w for w in words), (
                        f"{word!r} of {line!r} did not survive printing"
                    )
        # ...and each printed label must look like the label sent, glyph for glyph
        # (Cyrillic and Japanese included) and in the same place: at 72 dpi the grey
        # difference inside each label is a fraction of its ink, and smaller than if
        # the output had moved by one pixel.
        spec = sheet_spec(sheet)
        sent, got = _gray(document, 72), _gray(out, 72)
        for i, item in enumerate(items):
            r = spec.label_rect(i)
            region = (int(r.x), int(spec.page_h - r.top), int(r.right), int(spec.page_h - r.y))
            ink = _ink(sent, region)
            same, moved = _diff(sent, got, region, 0), _diff(sent, got, region, 1)
            assert ink > 0
            assert same / ink < 0.3, f"label {item.request_id} printed differently"
            assert same < moved, f"label {item.request_id} printed out of place"
    finally:
        out.unlink()


@pytest.mark.cups
def test_unknown_queue_is_a_clear_error(cups_queue: CupsQueue) -> None:
    with pytest.raises(PrinterNotFound, match="does not exist.*lpstat -p"):
        CupsPrinter("no-such-queue-here").submit(b"%PDF-1.4", name="x", fmt="pdf")


def test_missing_lp_is_a_clear_error() -> None:
    with pytest.raises(PrintFailed, match="install the CUPS client"):
        CupsPrinter("q", lp="/nonexistent/lp").submit(b"x", name="x", fmt="pdf")


def test_lp_command_keeps_label_geometry_and_sends_zpl_raw() -> None:
    pdf_cmd = CupsPrinter("Labels").command(name="o-1", fmt="pdf", media="Letter")
    assert pdf_cmd[:5] == ["lp", "-d", "Labels", "-t", "o-1"]
    assert {"print-scaling=none", "media=Letter", "fit-to-page=false"} <= set(pdf_cmd)
    zpl_cmd = CupsPrinter("Zebra", server="printhost:631").command(name="o", fmt="zpl", media=None)
    assert zpl_cmd[:3] == ["lp", "-h", "printhost:631"] and "raw" in zpl_cmd


def test_folder_printer_writes_whole_files_and_never_overwrites(tmp_path: Path) -> None:
    printer = FolderPrinter(tmp_path / "labels")
    first = printer.submit(b"%PDF-one", name="order 42/req 1", fmt="pdf")
    second = printer.submit(b"%PDF-two", name="order 42/req 1", fmt="pdf")
    assert first.job_id == "order-42-req-1.pdf"
    assert second.job_id == "order-42-req-1-2.pdf"
    assert (tmp_path / "labels" / first.job_id).read_bytes() == b"%PDF-one"
    assert (tmp_path / "labels" / second.job_id).read_bytes() == b"%PDF-two"
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == sorted(
        [first.job_id, second.job_id]
    )  # no temporary files left behind


def test_folder_printer_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PrintFailed, match="could not write the label file"):
        FolderPrinter(blocker / "sub").submit(b"x", name="x", fmt="pdf")
