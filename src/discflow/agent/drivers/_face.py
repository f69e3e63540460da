"""The printed face of a disc written by a per-drive driver (image, xorriso).

Those drivers have no printer of their own: the face is rendered as a PDF beside
the disc (``<disc>.face.pdf``) from the copy's merge values, with the labels
package's built-in disc layout, so an operator (or ``make demo``) sees what
each copy's face says. Invariant: a face that cannot be rendered never fails a
good disc; the reason is logged and the disc stays good.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from discflow.errors import DiscflowError
from discflow.labels import DiscLabelFields, layout_disc, render_disc_pdf

__all__ = ["face_fields", "write_face"]

_log = logging.getLogger("discflow.agent.face")
_COPY = re.compile(r"^\s*(\d+)\s+of\s+(\d+)\s*$")


def face_fields(merge: Mapping[str, str], *, volume_name: str) -> DiscLabelFields:
    """The labels package's fields from one merge set (keys in any case)."""
    values = {k.upper(): v for k, v in merge.items()}
    match = _COPY.match(values.get("COPY", "1 of 1"))
    number, total = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    return DiscLabelFields(
        title=values.get("TITLE") or volume_name,
        order_id=values.get("ORDER") or values.get("REQUEST") or volume_name,
        customer=values.get("CUSTOMER", ""),
        copy_number=number,
        copy_total=max(total, number),
        date=values.get("DATE") or dt.date.today().isoformat(),
    )


async def write_face(disc: Path, merge: Mapping[str, str], *, volume_name: str) -> Path | None:
    """Render the face PDF beside ``disc``; None (and a log line) when it cannot be."""
    target = disc.with_name(disc.name + ".face.pdf")
    try:
        fields = face_fields(merge, volume_name=volume_name)
        pdf = await asyncio.to_thread(render_disc_pdf, layout_disc(fields))
        await asyncio.to_thread(_write, target, pdf)
    except (DiscflowError, OSError, ValueError) as exc:
        _log.warning("no face for %s: %s", disc.name, exc)
        return None
    return target


def _write(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
