"""The server routes nothing to a device whose reported reasons stop it burning (#13 item 3).

The agent already reports such a device as ``error``; the snapshot checks the reasons
itself too, so an agent that says "online" beside "cover open" still gets no work.
"""

from __future__ import annotations

import pytest

from discflow.dispatcher._snapshot import is_schedulable
from discflow.store import Device


def _device(availability: str, reasons: list[dict[str, str]], *, paused: bool = False) -> Device:
    return Device(
        name="pub-2",
        driver="ptburn",
        availability=availability,
        paused=paused,
        status={"reasons": reasons},
    )


COVER_OPEN = {"reason": "cover-open", "severity": "error", "message": "pub-2: cover open"}
INK_LOW = {
    "reason": "marker-supply-low",
    "severity": "warning",
    "message": "pub-2: cyan ink 8 %",
    "detail": "cyan",
}
NO_CDR = {"reason": "media-empty", "severity": "error", "message": "no CD-R", "detail": "CD-R"}


@pytest.mark.parametrize(
    ("availability", "reasons", "paused", "expected"),
    [
        ("online", [], False, True),
        ("busy", [INK_LOW], False, True),  # a warning does not stop the robot
        ("online", [NO_CDR], False, True),  # other media may still burn; blanks are per bin
        ("online", [COVER_OPEN], False, False),  # the agent said online, the reason says no
        ("online", [INK_LOW, COVER_OPEN], False, False),
        ("online", [], True, False),
        ("error", [], False, False),
        ("offline", [], False, False),
    ],
)
def test_blocking_reasons_keep_work_away(
    availability: str, reasons: list[dict[str, str]], paused: bool, expected: bool
) -> None:
    assert is_schedulable(_device(availability, reasons, paused=paused)) is expected
