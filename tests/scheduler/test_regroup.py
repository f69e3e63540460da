"""The regroup after the batch spread: gathering a group with a hand-over."""

from __future__ import annotations

from discflow.scheduler import CachedContent
from discflow.scheduler._allocate import Group
from discflow.scheduler._regroup import regroup
from discflow.scheduler._state import DeviceState

from .builders import device


def _state(name: str, *, cached: tuple[str, ...] = ()) -> DeviceState:
    # 10 s a copy of a 1,000-byte content, a 1 s fetch (within any horizon) and
    # room for ten such contents: title switches cost these devices nothing.
    view = device(
        name,
        write_Bps=100.0,
        link_Bps=1000.0,
        cached=tuple(CachedContent(c, 1000, last_used_s=0.0) for c in cached),
    )
    return DeviceState.from_view(view, now=0.0, typical_bytes=1000)


def test_a_full_holder_hands_a_fetched_group_over_to_gather_its_own() -> None:
    # "holder" holds x but is full (100 s of y, which it must fetch); "fetcher"
    # was given x's 10 copies; "idle" has room. Gathering x on the holder alone
    # would end it at 200 s, past the LP's 100 s; handing y over to "idle"
    # makes room: x is then fetched by no one and y once, as before.
    devices = {
        d.name: d for d in (_state("holder", cached=("x",)), _state("fetcher"), _state("idle"))
    }
    x = Group("x", "CD-R", 1000, [], copies=10)
    y = Group("y", "CD-R", 1000, [], copies=10)
    share = {"holder": [(y, 10)], "fetcher": [(x, 10)]}
    out = regroup(share, devices, 0.0, {"x": {"holder": None}}, 100.0)
    placed = {name: {g.content: n for g, n in items} for name, items in out.items()}
    assert placed == {"holder": {"x": 10}, "idle": {"y": 10}}
