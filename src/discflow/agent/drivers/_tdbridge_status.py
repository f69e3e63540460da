"""TD Bridge's codes translated by table (TD Bridge Technical Reference Guide).

Sources: Rev.C (PP-100/PP-100N) p. 65 "List of Error Code before Accepting
Jobs" (SYS001-SYS003, JDF0100-JDF0700), p. 69 (JDF0000/JDF0001); PP-100II
guide p. 76-80 "STF File Status" (``STATUS`` 1-6/99, ``INK_*`` with 0 meaning
"the ink cartridge needs to be replaced", ``STACKERn``, ``INFO[M]`` warnings
whose meaning is shown only in Total Disc Monitor). The guide's table of error
codes during publishing was not readable in any public copy we found: such
codes are reported with TD Bridge's own ``DETAIL_STATUS`` text, not guessed.
"""

from __future__ import annotations

from discflow.agent.drivers._ink import ink_reason, level
from discflow.domain import DeviceReason, DeviceStateReason, JobState, ReasonSeverity

__all__ = [
    "ERRORS",
    "NO_DISCS",
    "STATUS_LOOKUP",
    "device_reasons",
    "error_text",
    "pause_reason",
]

# STATUS (STF file status): 1 registered/standby, 2 processing, 3 paused,
# 4 completed (also after a cancel, *3), 5 completed abnormally, 6 not accepted, 99 unknown
STATUS_LOOKUP = {
    "1": JobState.QUEUED,
    "2": JobState.RUNNING,
    "3": JobState.PAUSED,
    "4": JobState.DONE,
    "5": JobState.FAILED,
    "6": JobState.FAILED,
}

ERRORS = {
    "SYS001": "accepting the job failed",
    "SYS002": "the job failed: communication error with the publisher",
    "SYS003": "the job failed: the publisher's hard disk is full",
    "JDF0000": "CD given but no data, video or image file",
    "JDF0001": "DVD or DVD-DL given but no data or image file",
    "JDF0100": "the job ID already exists",
    "JDF0101": "the job ID is longer than 40 characters",
    "JDF0102": "the job ID holds characters other than A-Z a-z 0-9 - _",
    "JDF0200": "the publisher named by PUBLISHER is not registered",
    "JDF0201": "several publishers are registered and none was named",
    "JDF0202": "the publisher is in an unsupported mode",
    "JDF0203": "no publisher is registered",
    "JDF0300": "more copies than the publisher's mode allows",
    "JDF0400": "OUT_STACKER is not 2 or 4",
    "JDF0500": "DISC_TYPE differs from the source stacker's disc type",
    "JDF0501": "DISC_TYPE is missing",
    "JDF0502": "DISC_TYPE is not CD, DVD or DVD-DL",
    "JDF0600": "WRITING_SPEED is not a number",
    "JDF0700": "COMPARE is not YES or NO",
}

_INKS = (
    ("INK_C", "cyan"),
    ("INK_M", "magenta"),
    ("INK_Y", "yellow"),
    ("INK_LC", "light cyan"),
    ("INK_LM", "light magenta"),
    ("INK_B", "black"),
)


NO_DISCS = ("no disc", "out of disc", "stacker empty", "no media", "disc empty")


def pause_reason(device: str, detail: str) -> DeviceReason:
    """Why a job is paused (``.STP``), from TD Bridge's free ``DETAIL_STATUS`` text."""
    text = detail.lower()
    if any(words in text for words in NO_DISCS):
        return DeviceReason(
            DeviceStateReason.MEDIA_NEEDED, ReasonSeverity.WARNING, f"{device}: {detail}"
        )
    kind = DeviceStateReason.COVER_OPEN if "cover" in text else DeviceStateReason.PAUSED
    return DeviceReason(kind, ReasonSeverity.ERROR, f"{device}: {detail}")


def error_text(section: dict[str, str]) -> str:
    code = section.get("ERROR", "").strip()
    detail = section.get("DETAIL_STATUS", "").strip()
    meaning = ERRORS.get(code, detail or "no detail")
    return f"TD Bridge error {code or '?'}: {meaning}"


def device_reasons(
    device: str,
    *,
    publisher: dict[str, str] | None,
    name: str,
    jobs: list[dict[str, str]],
    in_stacker: int,
    ink_low: int,
    stale_s: float | None,
) -> list[DeviceReason]:
    reasons: list[DeviceReason] = []
    if stale_s is not None:
        reasons.append(
            DeviceReason(
                DeviceStateReason.SERVICE_UNRESPONSIVE,
                ReasonSeverity.ERROR,
                f"{device}: TD Bridge has not rewritten TDBStatus.txt for {stale_s:.0f} s "
                "(it does every 5 s); is TD Bridge running?",
            )
        )
    if publisher is None:
        reasons.append(
            DeviceReason(
                DeviceStateReason.OFFLINE,
                ReasonSeverity.ERROR,
                f"{device}: publisher {name!r} is not registered in TD Bridge",
            )
        )
        return reasons
    for key, colour in _INKS:
        reason = ink_reason(device, colour, level(publisher.get(key)), low=ink_low)
        if reason is not None:
            reasons.append(reason)
    blanks = level(publisher.get(f"STACKER{in_stacker}"))
    if blanks == 0:
        reasons.append(
            DeviceReason(
                DeviceStateReason.MEDIA_EMPTY,
                ReasonSeverity.WARNING,
                f"{device}: stacker {in_stacker} holds no blank discs",
                f"stacker {in_stacker}",
            )
        )
    for job in jobs:
        if job.get("STATUS") == "3":
            detail = job.get("DETAIL_STATUS", "") or "a job is paused"
            reasons.append(pause_reason(device, detail))
            break
    return reasons
