"""Blank-media accounting on the agent (claim 8: tracking media remaining).

Invariants, per media type:
``remaining = loaded_total - used_good - used_failed - in_drive`` and every
counter is >= 0, so ``remaining`` never goes negative: a disc is taken out of
the bin (``in_drive`` + 1) only when ``remaining`` > 0, and every disc taken is
settled exactly once as good or failed. A disc that was in a drive when the
agent died is counted failed on restart (it was never verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from discflow.errors import InvalidInput, MediaExhausted

__all__ = ["MediaCounts", "MediaLedger"]

_FIELDS = ("loaded_total", "used_good", "used_failed", "in_drive")


@dataclass(slots=True)
class MediaCounts:
    loaded_total: int = 0
    used_good: int = 0
    used_failed: int = 0
    in_drive: int = 0

    @property
    def remaining(self) -> int:
        return self.loaded_total - self.used_good - self.used_failed - self.in_drive

    def to_json(self) -> dict[str, int]:
        return {
            "loaded_total": self.loaded_total,
            "used_good": self.used_good,
            "used_failed": self.used_failed,
            "in_drive": self.in_drive,
        }


class MediaLedger:
    """Counts of blanks per media type; the caller persists ``to_json()``."""

    def __init__(self, initial: dict[str, int], saved: dict[str, Any] | None = None) -> None:
        self._counts: dict[str, MediaCounts] = {}
        saved = saved or {}
        for media, loaded in initial.items():
            previous = saved.get(media)
            if isinstance(previous, dict):
                self._counts[media] = MediaCounts(**{k: int(previous.get(k, 0)) for k in _FIELDS})
            else:
                self._counts[media] = MediaCounts(loaded_total=loaded)

    def recover(self) -> int:
        """After a restart: discs left in drives are spent and unverified, so failed."""
        lost = 0
        for counts in self._counts.values():
            lost += counts.in_drive
            counts.used_failed += counts.in_drive
            counts.in_drive = 0
        return lost

    def known(self, media: str) -> bool:
        return media in self._counts

    def media(self) -> list[str]:
        return list(self._counts)

    def counts(self, media: str) -> MediaCounts:
        return self._counts[media]

    def remaining(self, media: str) -> int:
        counts = self._counts.get(media)
        return counts.remaining if counts else 0

    def add(self, media: str, count: int) -> MediaCounts:
        """The operator loaded ``count`` blanks (a negative count unloads, never below 0)."""
        counts = self._counts.setdefault(media, MediaCounts())
        if count < 0 and -count > counts.remaining:
            raise InvalidInput(
                f"cannot unload {-count} {media} blanks: only {counts.remaining} are in the bin"
            )
        counts.loaded_total += count
        return counts

    def take(self, media: str, *, found: bool = False) -> None:
        """Move one blank from the bin into a drive.

        ``found``: the device itself took a disc we did not count (a hot-folder
        robot); when our count is already 0 it had more than we knew, so the
        disc is added as loaded rather than driving the count negative.
        """
        counts = self._counts.setdefault(media, MediaCounts())
        if counts.remaining <= 0:
            if not found:
                raise MediaExhausted(f"out of {media} blanks: load more and POST /v1/media")
            counts.loaded_total += 1
        counts.in_drive += 1

    def settle(self, media: str, *, good: bool) -> None:
        """The disc in a drive finished: good or failed, it used one blank."""
        counts = self._counts[media]
        if counts.in_drive <= 0:
            raise InvalidInput(f"no {media} disc is in a drive to settle")
        counts.in_drive -= 1
        if good:
            counts.used_good += 1
        else:
            counts.used_failed += 1

    def release(self, media: str) -> None:
        """The disc taken for a drive was never written (the drive refused it): back to the bin."""
        counts = self._counts[media]
        if counts.in_drive <= 0:
            raise InvalidInput(f"no {media} disc is in a drive to release")
        counts.in_drive -= 1

    def to_json(self) -> dict[str, dict[str, int]]:
        return {media: counts.to_json() for media, counts in self._counts.items()}
