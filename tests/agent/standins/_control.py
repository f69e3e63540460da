"""Test controls of the stand-ins (not part of any robot's protocol).

A test writes ``_standin_control.json`` into the hot folder (whole, by rename);
the stand-in re-reads it every tick. ``{"load": n}`` adds n blanks once (the way
an operator refills a bin) and is then removed from the file by the stand-in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONTROL = "_standin_control.json"


def read_control(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / CONTROL).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_control(folder: Path, **values: Any) -> None:
    """Merge ``values`` into the control file (used by tests and by the stand-in)."""
    data = read_control(folder)
    data.update(values)
    tmp = folder / f".{CONTROL}.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, folder / CONTROL)


def take_load(folder: Path) -> int:
    data = read_control(folder)
    load = int(data.pop("load", 0) or 0)
    if load:
        tmp = folder / f".{CONTROL}.tmp"
        tmp.write_text(json.dumps(data))
        os.replace(tmp, folder / CONTROL)
    return load


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    os.replace(tmp, path)
