"""Hostile ISO images built for real with pycdlib, then patched the way an attacker would.

pycdlib refuses to *write* a name such as ``../x``, so the image is built with a
placeholder name of the same length and the bytes of the name are replaced
afterwards (Rock Ridge NM in ASCII, Joliet in UCS-2): the result is exactly what
a hostile uploader can hand in, and pycdlib reads it back without complaint.
"""

from __future__ import annotations

import io
from pathlib import Path

import pycdlib

PLACEHOLDER = "XXXXXXXXXXXXXXXX"


def traversal_iso(path: Path, evil_name: str = "../../../../evil") -> Path:
    assert len(evil_name) == len(PLACEHOLDER)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", joliet=3, vol_ident="HOSTILE")
    data = b"written outside the hot folder\n"
    iso.add_fp(
        io.BytesIO(data),
        len(data),
        "/XXXXXXXX.;1",
        rr_name=PLACEHOLDER,
        joliet_path=f"/{PLACEHOLDER}",
    )
    tmp = path.with_suffix(".clean.iso")
    iso.write(str(tmp))
    iso.close()
    raw = tmp.read_bytes()
    raw = raw.replace(PLACEHOLDER.encode(), evil_name.encode())
    raw = raw.replace(PLACEHOLDER.encode("utf-16-be"), evil_name.encode("utf-16-be"))
    path.write_bytes(raw)
    tmp.unlink()
    return path


def symlink_iso(path: Path, target: str = "../../../etc/passwd") -> Path:
    """A Rock Ridge symlink pointing outside the image (as a hostile uploader makes it)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", vol_ident="LINKS")
    data = b"hello\n"
    iso.add_fp(io.BytesIO(data), len(data), "/README.;1", rr_name="README")
    iso.add_symlink("/LINK.;1", rr_symlink_name="link", rr_path=target)
    iso.write(str(path))
    iso.close()
    return path


def volume_id_iso(path: Path, volume_id: str) -> Path:
    """A clean image whose PVD volume identifier is patched to ``volume_id`` (<= 32 bytes)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident="PLACEHOLDERVOLUMEIDENTIFIERXXXXX")
    data = b"x"
    iso.add_fp(io.BytesIO(data), len(data), "/A.;1")
    buffer = io.BytesIO()
    iso.write_fp(buffer)
    iso.close()
    raw = buffer.getvalue().replace(
        b"PLACEHOLDERVOLUMEIDENTIFIERXXXXX", volume_id.encode("latin-1").ljust(32)
    )
    path.write_bytes(raw)
    return path
