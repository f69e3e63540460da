"""Temp files that become blobs only when complete.

Invariants: a temp file lives in ``<root>/tmp`` (same file system as the blobs, so
the final ``os.replace`` is atomic); it is fsynced before the rename and the
directory is fsynced after it; on any exception, including KeyboardInterrupt, the
temp file is removed. A crash (power loss, SIGKILL) can only leave files in
``<root>/tmp``, which ``sweep`` removes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["PARTIAL_SUFFIX", "fsync_dir", "partial_file", "publish", "sweep"]

PARTIAL_SUFFIX = ".partial"


@contextlib.contextmanager
def partial_file(tmp_dir: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """Yield a new, empty temp file opened ``w+b``; delete it unless published."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="ingest-", suffix=PARTIAL_SUFFIX)
    path = Path(name)
    try:
        with os.fdopen(fd, "w+b") as fp:
            yield path, fp
    finally:
        # After a successful publish the temp name is gone; missing_ok covers it.
        path.unlink(missing_ok=True)


def publish(tmp_path: Path, fp: BinaryIO, dest: Path) -> bool:
    """Move a finished temp file to ``dest``; False if ``dest`` already existed.

    The bytes are flushed and fsynced first, so a blob that exists is complete.
    """
    fp.flush()
    os.fsync(fp.fileno())
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return False
    # Blobs are immutable: read-only makes an accidental in-place write fail loudly.
    os.chmod(tmp_path, 0o444)
    os.replace(tmp_path, dest)
    fsync_dir(dest.parent)
    return True


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep(tmp_dir: Path, *, older_than_seconds: float = 0.0) -> list[Path]:
    """Remove leftover temp files older than the given age; return what was removed."""
    if not tmp_dir.is_dir():
        return []
    cutoff = time.time() - older_than_seconds
    removed: list[Path] = []
    for entry in sorted(tmp_dir.iterdir()):
        if not entry.name.endswith(PARTIAL_SUFFIX) or not entry.is_file():
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime <= cutoff:
                entry.unlink()
                removed.append(entry)
    return removed
