"""A device's reasons (CUPS printer-state-reasons) as the floor shows them.

Invariant: whatever shape the device record carries them in (a ``reasons``
column, or the last heartbeat's ``reasons`` list), the pages read them here
only, as ``discflow.domain.DeviceReason``; an entry the page cannot read is
shown as "other" with its text rather than dropped, so nothing a robot says
is hidden from the operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from discflow.domain import DeviceReason, DeviceStateReason, ReasonSeverity
from discflow.store import Device

# what the operator reads, and what to do about it
WORDS: Mapping[DeviceStateReason, str] = {
    DeviceStateReason.MEDIA_EMPTY: "out of blanks",
    DeviceStateReason.MEDIA_LOW: "blanks low",
    DeviceStateReason.MEDIA_NEEDED: "waits for blanks",
    DeviceStateReason.MARKER_SUPPLY_LOW: "ink low",
    DeviceStateReason.MARKER_SUPPLY_EMPTY: "out of ink",
    DeviceStateReason.COVER_OPEN: "cover open",
    DeviceStateReason.INPUT_TRAY_MISSING: "input bin missing",
    DeviceStateReason.OUTPUT_FULL: "output bin full",
    DeviceStateReason.OFFLINE: "offline",
    DeviceStateReason.SERVICE_UNRESPONSIVE: "robot service not answering",
    DeviceStateReason.JAMMED: "disc jammed",
    DeviceStateReason.PAUSED: "paused",
    DeviceStateReason.OTHER: "robot error",
}
SEVERITY_ORDER = {ReasonSeverity.ERROR: 0, ReasonSeverity.WARNING: 1, ReasonSeverity.REPORT: 2}


def _reason(raw: Any) -> DeviceReason:
    if isinstance(raw, DeviceReason):
        return raw
    if not isinstance(raw, Mapping):
        return DeviceReason(DeviceStateReason.OTHER, ReasonSeverity.WARNING, str(raw)[:300])
    try:
        kind = DeviceStateReason(str(raw.get("reason", "other")))
    except ValueError:
        kind = DeviceStateReason.OTHER
    try:
        severity = ReasonSeverity(str(raw.get("severity", "warning")))
    except ValueError:
        severity = ReasonSeverity.WARNING
    return DeviceReason(
        kind, severity, str(raw.get("message", ""))[:300], str(raw.get("detail", ""))[:80]
    )


def reasons_of(device: Device) -> list[DeviceReason]:
    """The device's current reasons, the most severe first."""
    raw = getattr(device, "reasons", None)
    if not raw:
        raw = (device.status or {}).get("reasons") or []
    found = [_reason(item) for item in raw if item]
    return sorted(found, key=lambda r: SEVERITY_ORDER[r.severity])


def describe(reason: DeviceReason) -> str:
    words = WORDS[reason.reason]
    if reason.detail:
        words = f"{words} ({reason.detail})"
    return words
