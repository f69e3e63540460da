"""Copy an ISO image's files into a folder, never outside it.

Invariants: every target is resolved and must lie inside ``dest``; a name
that is ``..``, holds a separator or a control character, or any symbolic
link in the image, is refused (``BurnFailed`` with the name), never followed
or created; files are opened with ``O_EXCL | O_NOFOLLOW``, so an existing
file or a planted link is never written through. Any pycdlib error becomes
``BurnFailed`` naming the image.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pycdlib

from discflow.errors import BurnFailed

__all__ = ["extract_iso"]


def _component(name: str, where: str) -> str:
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise BurnFailed(f"the image names {where!r}/{name!r}: a path outside its folder; refused")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BurnFailed(f"the image names {name!r} in {where!r} with control characters; refused")
    return name


def _inside(dest: Path, parts: list[str]) -> Path:
    target = dest.joinpath(*parts)
    resolved = target.resolve()
    if resolved != dest and dest not in resolved.parents:
        raise BurnFailed(f"{'/'.join(parts)!r} would be written outside {dest}; refused")
    return target


def extract_iso(image: Path, dest: Path) -> int:
    """Copy every file of ``image`` into ``dest`` (which must exist); returns the count."""
    dest = dest.resolve()
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(image))
    except Exception as exc:  # pycdlib raises its own, struct and OSError
        raise BurnFailed(f"cannot read the cached image {image} as ISO 9660: {exc}") from exc
    try:
        return _copy_tree(iso, dest)
    except BurnFailed:
        raise
    except Exception as exc:  # hostile bytes raise assorted errors
        raise BurnFailed(f"cannot extract {image.name}: {type(exc).__name__}: {exc}") from exc
    finally:
        iso.close()


def _copy_tree(iso: Any, dest: Path) -> int:
    kind = "rr_path" if iso.has_rock_ridge() else "joliet_path" if iso.has_joliet() else "iso_path"
    count = 0
    for dirname, _dirs, files in iso.walk(**{kind: "/"}):
        parts = [_component(p, dirname) for p in dirname.strip("/").split("/") if p]
        folder = _inside(dest, parts)
        folder.mkdir(parents=True, exist_ok=True)
        if folder.is_symlink():
            raise BurnFailed(f"{folder} is a symbolic link; refused")
        if kind == "rr_path":
            _refuse_links(iso, dirname)
        for name in files:
            clean = _component(name.split(";")[0] if kind == "iso_path" else name, dirname)
            target = _inside(dest, [*parts, clean])
            source = f"{dirname.rstrip('/')}/{name}"
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                iso.get_file_from_iso_fp(out, **{kind: source})
            count += 1
    return count


def _refuse_links(iso: Any, dirname: str) -> None:
    for child in iso.list_children(rr_path=dirname):
        if child.is_dot() or child.is_dotdot() or child.rock_ridge is None:
            continue
        if child.rock_ridge.is_symlink():
            name = child.rock_ridge.name().decode("utf-8", "replace")
            raise BurnFailed(
                f"the image holds a symbolic link {dirname.rstrip('/')}/{name}; a TD Bridge "
                'data job cannot carry links: use job_type = "image" (the default)'
            )
