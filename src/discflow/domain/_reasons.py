"""Why a device is in its state, and how urgent a request is: shared vocabularies.

Invariant: every driver maps its robot's native status codes into
``DeviceStateReason`` by a table of its own (in the manner of CUPS
``printer-state-reasons``); the agent's status, the server's device record,
the floor page, notices and alerts all speak these words, never a robot's.
A reason whose severity is ``ERROR`` and whose kind is in ``BLOCKING_REASONS``
means the device cannot burn now: the scheduler routes nothing to it until
the reason clears.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Priority(StrEnum):
    """How soon a request should be burned. DICOM HIGH/MED/LOW map onto these."""

    LOW = "low"
    NORMAL = "normal"
    RUSH = "rush"

    @property
    def rank(self) -> int:
        """Larger runs first."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.RUSH: 2}


class DeviceStateReason(StrEnum):
    """A device's condition, named after CUPS ``printer-state-reasons`` keywords."""

    MEDIA_EMPTY = "media-empty"  # no blanks of a media type (detail: the media type or bin)
    MEDIA_LOW = "media-low"
    MEDIA_NEEDED = "media-needed"  # the robot waits for blanks to go on with a job
    MARKER_SUPPLY_LOW = "marker-supply-low"  # ink (detail: the cartridge/colour)
    MARKER_SUPPLY_EMPTY = "marker-supply-empty"
    COVER_OPEN = "cover-open"
    INPUT_TRAY_MISSING = "input-tray-missing"
    OUTPUT_FULL = "output-full"  # output stacker/bin full
    OFFLINE = "offline"
    SERVICE_UNRESPONSIVE = "service-unresponsive"  # the robot's own service stopped answering
    JAMMED = "jammed"  # a disc is stuck in the picker/drive/printer
    PAUSED = "paused"  # paused by the operator
    OTHER = "other"


class ReasonSeverity(StrEnum):
    """CUPS's ``-report`` / ``-warning`` / ``-error`` suffixes."""

    REPORT = "report"
    WARNING = "warning"
    ERROR = "error"


# Conditions under which the robot cannot burn anything at all, whatever the media.
BLOCKING_REASONS = frozenset(
    {
        DeviceStateReason.COVER_OPEN,
        DeviceStateReason.INPUT_TRAY_MISSING,
        DeviceStateReason.OUTPUT_FULL,
        DeviceStateReason.OFFLINE,
        DeviceStateReason.SERVICE_UNRESPONSIVE,
        DeviceStateReason.JAMMED,
        DeviceStateReason.PAUSED,
        DeviceStateReason.OTHER,
    }
)


@dataclass(frozen=True, slots=True)
class DeviceReason:
    """One reason with its severity and a sentence for a person.

    ``detail`` narrows it: a media type or bin for media-*, a cartridge
    ("cyan", "black") for marker-supply-*; empty when the reason is whole-device.
    """

    reason: DeviceStateReason
    severity: ReasonSeverity
    message: str
    detail: str = ""

    @property
    def keyword(self) -> str:
        """The CUPS-style keyword, e.g. ``cover-open-error``."""
        return f"{self.reason.value}-{self.severity.value}"

    @property
    def blocks_burning(self) -> bool:
        """True when the device cannot burn anything until this clears."""
        return self.severity is ReasonSeverity.ERROR and self.reason in BLOCKING_REASONS


def can_burn(reasons: tuple[DeviceReason, ...] | list[DeviceReason]) -> bool:
    """A device may be given work only when none of its reasons blocks burning."""
    return not any(reason.blocks_burning for reason in reasons)
