"""A small Code 128 reader for tests: rasterise a region of a PDF with pdftoppm and
decode one scan line, with the symbol's check character verified. Written from the
Code 128 symbology table (ISO/IEC 15417), independent of reportlab's encoder."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

# Bar/space widths in modules for symbol values 0..106 (106 = stop, 7 elements).
PATTERNS = """
212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232
122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122
321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113 132311
211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113
213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422
121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111
241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121
412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412
211214 211232 2331112
""".split()
VALUE = {p: i for i, p in enumerate(PATTERNS)}


def _read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P5", "pdftoppm -gray should write binary PGM"
    width, height = int(parts[1]), int(parts[2])
    return width, height, parts[4][: width * height]


def _runs(row: bytes) -> list[int]:
    dark = [b < 128 for b in row]
    start = dark.index(True)
    end = len(dark) - dark[::-1].index(True)
    runs: list[int] = []
    current, count = dark[start], 0
    for d in dark[start:end]:
        if d == current:
            count += 1
        else:
            runs.append(count)
            current, count = d, 1
    runs.append(count)
    return runs


def decode_runs(runs: list[int]) -> str:
    module = sum(runs[:6]) / 11  # the start symbol is 11 modules wide
    widths = "".join(str(max(1, round(r / module))) for r in runs)
    symbols = [VALUE[widths[i : i + 6]] for i in range(0, len(widths) - 7, 6)]
    assert widths[-7:] == PATTERNS[106], f"no stop pattern at the end ({widths[-7:]})"
    start, *data, check = symbols
    assert start in (103, 104, 105), f"no start symbol ({start})"
    total = start + sum(i * v for i, v in enumerate(data, start=1))
    assert total % 103 == check, "Code 128 check character does not match"
    code = {103: "A", 104: "B", 105: "C"}[start]
    out = ""
    for v in data:
        if v == 99:
            code = "C"
        elif v == 100:
            code = "B"
        elif v == 101:
            code = "A"
        elif code == "C":
            out += f"{v:02d}"
        elif code == "B":
            out += chr(v + 32)
        else:
            out += chr(v + 32) if v < 64 else chr(v - 64)
    return out


def read_barcode(
    pdf: bytes, *, page: int, x: float, y: float, w: float, h: float, page_h: float
) -> str:
    """Decode the Code 128 symbol in the box (points, bottom-left origin) of ``page``."""
    dpi = 600
    scale = dpi / 72
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        crop = [
            "-x", str(int(x * scale)), "-y", str(int((page_h - y - h) * scale)),
            "-W", str(int(w * scale) + 1), "-H", str(int(h * scale)),
        ]  # fmt: skip
        subprocess.run(
            ["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page + 1), "-l", str(page + 1),
             "-singlefile", *crop, str(src), str(Path(tmp) / "out")],
            check=True, capture_output=True,
        )  # fmt: skip
        width, height, pixels = _read_pgm(Path(tmp) / "out.pgm")
    row = pixels[(height // 2) * width : (height // 2 + 1) * width]
    return decode_runs(_runs(row))
