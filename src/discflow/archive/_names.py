"""Names on the image: ISO 9660 level 3, Joliet and volume identifiers.

Rock Ridge and UDF keep every original name as is; ISO 9660 and Joliet have
stricter rules, so names are mapped for them. Invariants: the mapping is a pure
function of the sorted list of sibling names (same tree, same image); mapped
names are unique among siblings (case-insensitively for Joliet, as Windows reads
it); ISO 9660 names use only d-characters (A-Z, 0-9, _).
"""

from __future__ import annotations

import re
import unicodedata

from discflow.errors import IngestError

__all__ = ["NameAllocator", "volume_identifier"]

_NON_D = re.compile(r"[^A-Z0-9_]")
_JOLIET_FORBIDDEN = re.compile(r"[*/:;?\\]")
# Ecma-119 7.5.2: file name + extension at most 30 characters; 7.6.3 lets a
# directory name be longer, but readers commonly stop at 31.
_ISO_STEM_MAX = 21
_ISO_EXT_MAX = 8
_ISO_DIR_MAX = 31
# pycdlib counts Joliet names in UTF-8 bytes (the standard's limit is 64 UCS-2
# characters); staying within 64 bytes satisfies both.
_JOLIET_MAX_BYTES = 64
_VOLUME_MAX = 32


def _d_chars(text: str) -> str:
    # Strip accents first so "Café" becomes "CAFE" rather than "CAF_".
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_D.sub("_", ascii_text.upper())


def _cut_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")[:max_bytes]
    return encoded.decode("utf-8", "ignore")


class NameAllocator:
    """Hands out unique ISO 9660 and Joliet names within one directory."""

    def __init__(self) -> None:
        self._iso: set[str] = set()
        self._joliet: set[str] = set()

    def iso_name(self, name: str, *, is_dir: bool) -> str:
        """ISO 9660 identifier without the ``;1`` version suffix."""
        if is_dir:
            stem, ext = _d_chars(name) or "_", ""
            stem_max = _ISO_DIR_MAX
        else:
            base, dot, raw_ext = name.rpartition(".")
            if not dot or not base:
                base, raw_ext = name, ""
            stem = _d_chars(base) or "_"
            ext = _d_chars(raw_ext)[:_ISO_EXT_MAX]
            stem_max = _ISO_STEM_MAX
        counter = 0
        while True:
            suffix = f"_{counter}" if counter else ""
            candidate = stem[: stem_max - len(suffix)] + suffix
            full = f"{candidate}.{ext}" if ext else candidate
            if full not in self._iso:
                self._iso.add(full)
                return full
            counter += 1

    def joliet_name(self, name: str) -> str:
        clean = _JOLIET_FORBIDDEN.sub("_", name)
        base, dot, ext = clean.rpartition(".")
        if not dot or not base or len(ext.encode()) > 16:
            base, dot, ext = clean, "", ""
        counter = 0
        while True:
            suffix = f" ({counter})" if counter else ""
            tail = f"{suffix}{dot}{ext}"
            candidate = _cut_utf8(base, _JOLIET_MAX_BYTES - len(tail.encode())) + tail
            if candidate.casefold() not in self._joliet:
                self._joliet.add(candidate.casefold())
                return candidate
            counter += 1


def volume_identifier(volume_name: str) -> str:
    """The ISO 9660 volume identifier for a user's volume name (d-characters, <= 32)."""
    if not volume_name.strip():
        raise IngestError("the volume name is empty: give a short name such as 'PHOTOS_2024'")
    if any(ord(ch) < 32 for ch in volume_name):
        raise IngestError("the volume name contains control characters: use letters and digits")
    ident = _d_chars(volume_name.strip())[:_VOLUME_MAX].strip("_")
    if not ident:
        raise IngestError(
            f"the volume name {volume_name!r} has no letters or digits usable on a disc "
            "(A-Z, 0-9, _): give a name such as 'PHOTOS_2024'"
        )
    return ident
