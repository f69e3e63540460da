"""Ink levels and bins of a robot as ``DeviceReason`` values (both hot-folder drivers).

Invariant: a level is a percentage the robot itself reported; an unknown level
(``-1`` or missing) produces no reason, never a guess.
"""

from __future__ import annotations

from discflow.domain import DeviceReason, DeviceStateReason, ReasonSeverity

__all__ = ["ink_reason", "level"]


def level(value: str | None) -> int | None:
    """An integer level from a status file, or None when unknown/absent/garbled."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return None if number < 0 else number


def ink_reason(device: str, colour: str, percent: int | None, *, low: int) -> DeviceReason | None:
    """``marker-supply-empty`` at 0 %, ``marker-supply-low`` at or below ``low`` %."""
    if percent is None:
        return None
    if percent <= 0:
        return DeviceReason(
            DeviceStateReason.MARKER_SUPPLY_EMPTY,
            ReasonSeverity.ERROR,
            f"{device}: {colour} ink empty: replace the cartridge",
            colour,
        )
    if percent <= low:
        return DeviceReason(
            DeviceStateReason.MARKER_SUPPLY_LOW,
            ReasonSeverity.WARNING,
            f"{device}: {colour} ink {percent} %",
            colour,
        )
    return None
