"""Recordable media types and their real capacities.

Invariant: capacities are user-data bytes of a blank disc written in one
session (sectors x 2048), the numbers a planner must fit content into.
"""

from __future__ import annotations

from dataclasses import dataclass

from discflow.errors import UnknownMediaType


@dataclass(frozen=True, slots=True)
class MediaType:
    """One kind of blank disc."""

    name: str
    capacity_bytes: int
    diameter_mm: int
    family: str  # "CD", "DVD" or "BD": what a publisher's drive must support
    description: str

    def fits(self, size_bytes: int) -> bool:
        return 0 <= size_bytes <= self.capacity_bytes


_SECTOR = 2048

MEDIA_TYPES: dict[str, MediaType] = {
    m.name: m
    for m in (
        # 80-minute CD-R: 360,000 sectors.
        MediaType("CD-R", 360_000 * _SECTOR, 120, "CD", "CD-R 700 MB"),
        # 8 cm 24-minute CD-R: 108,000 sectors.
        MediaType("mini-CD-R", 108_000 * _SECTOR, 80, "CD", "mini CD-R 8 cm 210 MB"),
        # DVD±R single layer: 2,295,104 sectors (the common subset of -R and +R).
        MediaType("DVD-R", 2_295_104 * _SECTOR, 120, "DVD", "DVD-R 4.7 GB"),
        MediaType("DVD+R", 2_295_104 * _SECTOR, 120, "DVD", "DVD+R 4.7 GB"),
        # DVD±R DL: 4,171,712 sectors (DVD-R DL, the smaller of the two).
        MediaType("DVD-R-DL", 4_171_712 * _SECTOR, 120, "DVD", "DVD-R DL 8.5 GB"),
        MediaType("DVD+R-DL", 4_171_712 * _SECTOR, 120, "DVD", "DVD+R DL 8.5 GB"),
        # BD-R: 12,219,392 sectors single layer, twice that dual layer.
        MediaType("BD-R", 12_219_392 * _SECTOR, 120, "BD", "BD-R 25 GB"),
        MediaType("BD-R-DL", 24_438_784 * _SECTOR, 120, "BD", "BD-R DL 50 GB"),
    )
}

_ALIASES = {name.lower().replace(" ", "").replace("_", "-"): name for name in MEDIA_TYPES}
_ALIASES.update(
    {
        "cdr": "CD-R",
        "dvdr": "DVD-R",
        "dvd+rdl": "DVD+R-DL",
        "dvd-rdl": "DVD-R-DL",
        "bdr": "BD-R",
        "bd-rdl": "BD-R-DL",
        "minicd-r": "mini-CD-R",
        "minicdr": "mini-CD-R",
    }
)


def media_type(name: str) -> MediaType:
    """Look up a media type by name, forgiving case, spaces and underscores."""
    key = name.strip().lower().replace(" ", "").replace("_", "-")
    try:
        return MEDIA_TYPES[_ALIASES[key]]
    except KeyError:
        known = ", ".join(MEDIA_TYPES)
        raise UnknownMediaType(f"unknown media type {name!r}; use one of: {known}") from None


def media_fitting(size_bytes: int) -> list[MediaType]:
    """The media types a content of this size fits on, smallest first."""
    return sorted(
        (m for m in MEDIA_TYPES.values() if m.fits(size_bytes)),
        key=lambda m: (m.capacity_bytes, m.name),
    )


def describe_size(size_bytes: int) -> str:
    """A size the way disc labels print it: decimal units, one decimal."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.1f} {unit}"
    return f"{size_bytes} bytes"
