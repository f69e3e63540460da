"""PTBurn's status codes translated by table: disc errors, job errors, robot states.

Sources (PTBurn 3 SDK rev 3.24 unless said otherwise):
- Appendix C "Job/Disc Errors" (p. 58; 2005 SDK p. 46-48): 12 not blank,
  16 the job was aborted, 18 error recording, 19 error verifying, ...
- 3.1.3.8/3.1.3.9 ``CartridgeTypeX``/``CartridgeFillX`` (0-100 %).
- 3.2.5.2 ``SystemStatus`` examples: "Offline", "System OK", "Out of Discs",
  "Ink Low", "Printer Offline".
- 4.4/4.5: system errors 5, 6, 7 are ink-low conditions, 22 means the printer
  needs aligning, 31 that aligning failed.
The rest of Appendix C's system-error table was not readable in any public copy
we found, so other ``SysErrorNumber`` values become ``other`` with PTBurn's own
``SysErrorString``; a cover-open has no number we could confirm and is
recognised from the ``SystemStatus`` text.
"""

from __future__ import annotations

from discflow.agent.drivers._ink import ink_reason, level
from discflow.domain import CopyState, DeviceReason, DeviceStateReason, ReasonSeverity

__all__ = ["ABORTED", "DISC_ERRORS", "device_reasons", "disc_failure", "job_error_text"]

ABORTED = "16"

# Appendix C, disc-type errors: number -> (copy state, sentence)
DISC_ERRORS: dict[str, tuple[CopyState, str]] = {
    "10": (CopyState.FAILED_WRITE, "the media is invalid (disc error 10)"),
    "11": (CopyState.FAILED_WRITE, "the media has insufficient space (disc error 11)"),
    "12": (CopyState.FAILED_WRITE, "the disc was not blank (disc error 12)"),
    "14": (CopyState.FAILED_WRITE, "the drive did not become ready (disc error 14)"),
    "18": (CopyState.FAILED_WRITE, "error recording the disc (disc error 18)"),
    "19": (CopyState.FAILED_VERIFY, "error verifying the disc (disc error 19)"),
}

_CARTRIDGE = {"1": "colour", "2": "black", "3": "yellow", "4": "cyan", "5": "magenta"}

# SystemStatus text (3.2.5.2) -> reason; matched on the lower-cased text
_SYSTEM_TEXT: tuple[tuple[str, DeviceStateReason, ReasonSeverity], ...] = (
    ("printer offline", DeviceStateReason.OFFLINE, ReasonSeverity.ERROR),
    ("offline", DeviceStateReason.OFFLINE, ReasonSeverity.ERROR),
    ("out of discs", DeviceStateReason.MEDIA_EMPTY, ReasonSeverity.WARNING),
    ("cover", DeviceStateReason.COVER_OPEN, ReasonSeverity.ERROR),
    ("ink low", DeviceStateReason.MARKER_SUPPLY_LOW, ReasonSeverity.WARNING),
)
# SysErrorNumber (4.4, 4.5)
_SYSTEM_ERRORS: dict[str, tuple[DeviceStateReason, ReasonSeverity, str]] = {
    "5": (DeviceStateReason.MARKER_SUPPLY_LOW, ReasonSeverity.WARNING, "ink low"),
    "6": (DeviceStateReason.MARKER_SUPPLY_LOW, ReasonSeverity.WARNING, "ink low"),
    "7": (DeviceStateReason.MARKER_SUPPLY_LOW, ReasonSeverity.WARNING, "ink low"),
    "22": (DeviceStateReason.OTHER, ReasonSeverity.ERROR, "the printer needs aligning"),
    "31": (DeviceStateReason.OTHER, ReasonSeverity.ERROR, "aligning the printer failed"),
}


def disc_failure(section: dict[str, str], x: int) -> tuple[CopyState, str]:
    """The state and sentence of the job's x-th disc error (``DiscErrorNumberX``)."""
    number = section.get(f"DiscErrorNumber{x}")
    text = section.get(f"DiscErrorString{x}", "")
    if number in DISC_ERRORS:
        state, sentence = DISC_ERRORS[number]
        return state, f"PTBurn: {sentence}{'; ' + text if text else ''}"
    if number is None:
        return CopyState.FAILED_WRITE, "PTBurn rejected the disc without a disc error number"
    return CopyState.FAILED_WRITE, f"PTBurn disc error {number}: {text or 'no text'}"


def job_error_text(section: dict[str, str]) -> str:
    number = section.get("JobErrorNumber", "")
    text = section.get("JobErrorString", "") or section.get("CurrentStatus", "")
    if not number and not text:
        return "PTBurn ended the job with an error and gave no error number"
    return f"PTBurn job error {number or '?'}: {text or 'no text'}"


def device_reasons(
    device: str,
    *,
    system: dict[str, dict[str, str]],
    robot: str,
    robot_status: dict[str, dict[str, str]],
    ink_low: int,
    frozen_s: float | None,
) -> list[DeviceReason]:
    """Every reason the status files give, one per condition."""
    reasons: list[DeviceReason] = []
    if frozen_s is not None:
        tick = system.get("System", {}).get("ServerTickCount", "?")
        reasons.append(
            DeviceReason(
                DeviceStateReason.SERVICE_UNRESPONSIVE,
                ReasonSeverity.ERROR,
                f"{device}: the PTBurn service stopped updating its status "
                f"(ServerTickCount {tick} for {frozen_s:.0f} s); restart PTBurn on its host",
            )
        )
    text = robot_status.get("System", {}).get("SystemStatus", "")
    for words, reason, severity in _SYSTEM_TEXT:
        if words in text.lower():
            reasons.append(DeviceReason(reason, severity, f"{device}: {text}"))
            break
    number = system.get("System", {}).get("SysErrorNumber") or robot_status.get("System", {}).get(
        "SysErrorNumber", "0"
    )
    if number and number != "0" and not any(r.severity is ReasonSeverity.ERROR for r in reasons):
        string = system.get("System", {}).get("SysErrorString", "")
        kind, severity, sentence = _SYSTEM_ERRORS.get(
            number, (DeviceStateReason.OTHER, ReasonSeverity.ERROR, string or "system error")
        )
        if not any(r.reason is kind for r in reasons):
            reasons.append(
                DeviceReason(kind, severity, f"{device}: {sentence} (system error {number})")
            )
    reasons += _ink(device, system.get(robot, {}), ink_low)
    return reasons


def _ink(device: str, section: dict[str, str], low: int) -> list[DeviceReason]:
    types = {
        k.removeprefix("CartridgeType"): v
        for k, v in section.items()
        if k.startswith("CartridgeType")
    }
    separate = any(t in ("3", "4", "5") for t in types.values())
    out = []
    for index, kind in sorted(types.items()):
        if kind == "0" or (kind == "1" and separate):
            continue  # no cartridge; or the "lowest colour" copy of 3.1.3.9's note
        colour = _CARTRIDGE.get(kind, f"cartridge {index}")
        reason = ink_reason(device, colour, level(section.get(f"CartridgeFill{index}")), low=low)
        if reason is not None:
            out.append(reason)
    return out
