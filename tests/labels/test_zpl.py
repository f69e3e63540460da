"""ZPL II output checked against the command set's structure."""

from __future__ import annotations

import re

import pytest

from discflow.domain import Address
from discflow.labels import LabelInputError, LabelItem, escape_field, format_address, render_sheet
from tests.labels.labels_support import world_items

# Two-letter ZPL II commands this renderer may emit, with the parameter grammar each takes.
GRAMMAR = {
    "XA": r"",
    "XZ": r"",
    "CI": r"28",
    "PW": r"\d+",
    "LL": r"\d+",
    "LH": r"\d+,\d+",
    "FO": r"\d+,\d+",
    "A0": r"N,\d+,\d+",
    "A@": r"N,\d+,\d+,[A-Z]:[A-Z0-9_]+\.TTF",
    "FB": r"\d+,1,0,L,0",
    "FH": r"_",
    "BY": r"\d+,3,\d+",
    "BC": r"N,\d+,N,N,N,N",
    "PQ": r"\d+",
    "FS": r"",
}


def parse(zpl: str) -> list[list[tuple[str, str]]]:
    """Split into formats of (command, parameters); ``FD`` data runs up to ``^FS``."""
    formats: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] | None = None
    pos = 0
    text = zpl.replace("\n", "")
    while pos < len(text):
        assert text[pos] == "^", f"stray text {text[pos : pos + 20]!r} outside a command"
        cmd = text[pos + 1 : pos + 3]
        if cmd == "FD":
            end = text.index("^FS", pos)
            params, pos = text[pos + 3 : end], end
        else:
            nxt = text.find("^", pos + 1)
            nxt = len(text) if nxt < 0 else nxt
            params, pos = text[pos + 3 : nxt], nxt
            if cmd != "FD":
                assert cmd in GRAMMAR, f"unexpected command ^{cmd}"
                assert re.fullmatch(GRAMMAR[cmd], params), f"^{cmd} has bad parameters {params!r}"
        if cmd == "XA":
            assert current is None, "^XA inside an open format"
            current = []
        assert current is not None, f"^{cmd} outside ^XA...^XZ"
        current.append((cmd, params))
        if cmd == "XZ":
            formats.append(current)
            current = None
    assert current is None, "format not closed with ^XZ"
    return formats


def unescape(data: str) -> str:
    raw = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), data.encode())
    return raw.decode("utf-8")


def fields(fmt: list[tuple[str, str]]) -> list[tuple[dict[str, str], str]]:
    """Each field: the commands since the previous ^FS, and its (unescaped) data."""
    out: list[tuple[dict[str, str], str]] = []
    pending: dict[str, str] = {}
    for cmd, params in fmt:
        if cmd == "FD":
            out.append((pending, unescape(params) if "FH" in pending else params))
            pending = {}
        elif cmd not in ("FS",):
            pending[cmd] = params
    return out


def test_one_well_formed_format_per_label_with_utf8_and_bounds() -> None:
    items = world_items()
    zpl = render_sheet(items, sheet="4x6", fmt="zpl").decode("utf-8")
    formats = parse(zpl)
    assert len(formats) == len(items)
    for fmt, item in zip(formats, items, strict=True):
        cmds = dict(fmt)
        assert fmt[1] == ("CI", "28"), "UTF-8 (^CI28) must be selected before any field"
        width, length = int(cmds["PW"]), int(cmds["LL"])
        assert (width, length) == (812, 1218)  # 4 x 6 in at 203 dpi
        texts = []
        for setup, data in fields(fmt):
            x, y = map(int, setup["FO"].split(","))
            assert 0 <= x < width and 0 <= y < length
            if "BC" in setup:
                assert data == f">:{item.order_id}/{item.request_id}"
                assert int(setup["BC"].split(",")[1]) + y <= length
            else:
                assert "A0" in setup or "A@" in setup, "text field without a font"
                block_w = int(setup["FB"].split(",")[0])
                assert x + block_w <= width
                texts.append(data)
        flat = " ".join(texts)  # a long street may be wrapped over two fields
        for line in format_address(item.ship_to):
            assert line in texts or line in flat, f"{line!r} not in the ZPL"
        assert f"Order {item.order_id} · Request {item.request_id}" in texts


def test_non_latin1_text_uses_the_unicode_printer_font() -> None:
    zpl = render_sheet(world_items()[7:9], sheet="4x6", fmt="zpl").decode()
    for fmt in parse(zpl):
        for setup, data in fields(fmt):
            if "BC" in setup:
                continue
            if all(ord(c) < 256 for c in data):
                assert "A0" in setup
            else:
                assert setup.get("A@", "").endswith("E:ANMDJ.TTF"), data


def test_control_characters_in_an_address_cannot_inject_commands() -> None:
    address = Address("Eve ^XZ^XA~JR_", ("1 ^FO0,0 St",), "Town", "1", "US")
    zpl = render_sheet([LabelItem(address, "O-1", "R-1")], sheet="4x6", fmt="zpl").decode()
    formats = parse(zpl)
    assert len(formats) == 1
    data = [d for _, d in fields(formats[0])]
    assert "Eve ^XZ^XA~JR_" in data
    assert escape_field("a^b~c_d") == "a_5Eb_7Ec_5Fd"


def test_zpl_is_refused_for_sheets_and_odd_resolutions() -> None:
    items = world_items()[:1]
    with pytest.raises(LabelInputError, match="4x6"):
        render_sheet(items, sheet="avery-l7160", fmt="zpl")
    with pytest.raises(LabelInputError, match="203"):
        render_sheet(items, sheet="4x6", fmt="zpl", zpl_dpi=250)


def test_300_dpi_scales_the_label() -> None:
    zpl = render_sheet(world_items()[:1], sheet="4x6", fmt="zpl", zpl_dpi=300).decode()
    cmds = dict(parse(zpl)[0])
    assert (cmds["PW"], cmds["LL"]) == ("1200", "1800")
