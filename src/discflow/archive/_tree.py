"""Scan a directory into a plan of what goes on the image, refusing what must not.

Invariants: the scan never follows a symlink and never reads file contents
(it only opens each file to prove it is readable); entries come out in a fixed
order (parents before children, siblings sorted by UTF-8 bytes of their name);
any refusal raises ``IngestError`` naming the offending path relative to the
tree and saying how to fix it.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from discflow.archive._names import NameAllocator
from discflow.errors import IngestError

__all__ = ["EntryKind", "TreeEntry", "TreePlan", "scan_tree"]

# ISO 9660 dates count years from 1900 in one byte; keep mtimes in range.
_MIN_TIME = 0
_MAX_TIME = 4_102_444_800  # 2100-01-01


class EntryKind(Enum):
    DIR = "dir"
    FILE = "file"
    SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    kind: EntryKind
    source: Path
    rel_path: str  # original names joined by "/", as shown to the user
    iso_path: str
    joliet_path: str
    size: int
    mtime: int
    mode: int
    link_target: str | None = None


@dataclass(frozen=True, slots=True)
class TreePlan:
    root: Path
    entries: tuple[TreeEntry, ...]
    root_mtime: int

    @property
    def files(self) -> tuple[TreeEntry, ...]:
        return tuple(e for e in self.entries if e.kind is EntryKind.FILE)

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def largest_file(self) -> TreeEntry | None:
        return max(self.files, key=lambda e: e.size, default=None)

    @property
    def newest_mtime(self) -> int:
        return max([self.root_mtime, *(e.mtime for e in self.entries)])


def _clamp_time(mtime: float) -> int:
    return min(max(int(mtime), _MIN_TIME), _MAX_TIME)


def _check_name(name: str, rel: str) -> None:
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        raise IngestError(
            f"{rel!r}: the name is not valid UTF-8; rename it so it can be written on the disc"
        )
    if name in (".", "..") or "\\" in name or "/" in name:
        raise IngestError(
            f"{rel!r}: the name contains a path separator or '..' (path traversal); rename it"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise IngestError(f"{rel!r}: the name contains control characters; rename it")


def _symlink_target(path: Path, rel_parent: str, rel: str) -> str:
    target = os.readlink(path)
    if target.startswith("/") or "\\" in target:
        raise IngestError(
            f"{rel!r} is a symlink to {target!r}, outside the folder; replace it with "
            "the file itself or a relative link inside the folder"
        )
    # Judged lexically: the link is stored, never followed.
    resolved = posixpath.normpath(posixpath.join(rel_parent, target))
    if resolved == ".." or resolved.startswith("../"):
        raise IngestError(
            f"{rel!r} is a symlink to {target!r}, outside the folder; replace it with "
            "the file itself or a relative link inside the folder"
        )
    return target


def _check_readable(path: Path, rel: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise IngestError(
            f"{rel!r} cannot be read ({exc.strerror}); fix its permissions or remove it"
        ) from exc
    os.close(fd)


def _list_dir(path: Path, rel: str) -> list[str]:
    try:
        names = os.listdir(path)
    except OSError as exc:
        shown = rel or "the folder itself"
        raise IngestError(
            f"{shown!r} cannot be read ({exc.strerror}); fix its permissions or remove it"
        ) from exc
    return sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))


def scan_tree(root: Path) -> TreePlan:
    """Walk ``root`` and plan every entry of the image, or refuse the tree."""
    try:
        root_stat = os.stat(root)
    except OSError as exc:
        raise IngestError(f"{str(root)!r} cannot be opened ({exc.strerror})") from exc
    if not stat.S_ISDIR(root_stat.st_mode):
        raise IngestError(f"{str(root)!r} is not a folder; give a folder to build an image from")
    entries: list[TreeEntry] = []
    _scan_dir(root, rel="", iso_parent="", joliet_parent="", out=entries)
    if not any(e.kind is EntryKind.FILE for e in entries):
        raise IngestError(
            f"{str(root)!r} holds no files; an empty disc is not useful, add files first"
        )
    return TreePlan(root=root, entries=tuple(entries), root_mtime=_clamp_time(root_stat.st_mtime))


def _scan_dir(
    path: Path, *, rel: str, iso_parent: str, joliet_parent: str, out: list[TreeEntry]
) -> None:
    names = NameAllocator()
    subdirs: list[tuple[Path, str, str, str]] = []
    for name in _list_dir(path, rel):
        child_rel = f"{rel}/{name}" if rel else name
        _check_name(name, child_rel)
        child = path / name
        try:
            st = os.lstat(child)
        except OSError as exc:
            raise IngestError(f"{child_rel!r} cannot be read ({exc.strerror})") from exc
        mode = st.st_mode
        mtime = _clamp_time(st.st_mtime)
        joliet_path = f"{joliet_parent}/{names.joliet_name(name)}"
        if stat.S_ISLNK(mode):
            target = _symlink_target(child, rel, child_rel)
            iso_path = f"{iso_parent}/{names.iso_name(name, is_dir=False)};1"
            out.append(
                TreeEntry(
                    kind=EntryKind.SYMLINK,
                    iso_path=iso_path,
                    joliet_path=joliet_path,
                    size=0,
                    mode=0o120777,
                    link_target=target,
                    source=child,
                    rel_path=child_rel,
                    mtime=mtime,
                )
            )
        elif stat.S_ISDIR(mode):
            iso_path = f"{iso_parent}/{names.iso_name(name, is_dir=True)}"
            out.append(
                TreeEntry(
                    kind=EntryKind.DIR,
                    iso_path=iso_path,
                    joliet_path=joliet_path,
                    size=0,
                    mode=stat.S_IFDIR | 0o555,
                    source=child,
                    rel_path=child_rel,
                    mtime=mtime,
                )
            )
            subdirs.append((child, child_rel, iso_path, joliet_path))
        elif stat.S_ISREG(mode):
            _check_readable(child, child_rel)
            iso_path = f"{iso_parent}/{names.iso_name(name, is_dir=False)};1"
            out.append(
                TreeEntry(
                    kind=EntryKind.FILE,
                    iso_path=iso_path,
                    joliet_path=joliet_path,
                    size=st.st_size,
                    # Discs are read-only: keep only the execute bits' meaning.
                    mode=stat.S_IFREG | (0o555 if mode & 0o111 else 0o444),
                    source=child,
                    rel_path=child_rel,
                    mtime=mtime,
                )
            )
        else:
            raise IngestError(
                f"{child_rel!r} is {_special_kind(mode)}, which cannot go on a disc; "
                "remove it from the folder"
            )
    # Children of a directory come right after it was added, siblings in order.
    for child, child_rel, iso_path, joliet_path in subdirs:
        _scan_dir(child, rel=child_rel, iso_parent=iso_path, joliet_parent=joliet_path, out=out)


def _special_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
