"""The standing planner's indexes match what they index, after every round.

- The steal index holds every device's live key unless a reload or notice
  moved it: ``_next_victim`` trusts the newest entry of a device not marked
  ``unindexed`` (no key recomputed per pop), so every other change to a
  device's planned end must re-index it where it is made.
- A device's ``parked`` flag matches the planner's ``parked`` set, and
  ``writers`` lists each media's online writers in the snapshot's order:
  ``wake_for`` walks those flags instead of the set, so it finds the devices
  the old walk found only while the two agree."""

from __future__ import annotations

from typing import Any

import pytest

from discflow.scheduler import generate_workload, simulate
from discflow.scheduler._discflow import DiscflowPlanner
from discflow.scheduler._model import Plan, Snapshot
from discflow.scheduler._planned import planned_key
from discflow.scheduler._simulate import StandingPolicy


class _CheckedPlanner:
    """The real planner, checked after every round (a wrapper, not a subclass: the
    compiled planner's classes take no interpreted subclasses)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.planner = DiscflowPlanner(snapshot)
        self.parks = 0  # devices parked by a round (the parked index exercised)

    def step(self, *args: Any, **kwargs: Any) -> Plan:
        planner = self.planner
        was = set(planner.parked)
        plan = planner.step(*args, **kwargs)
        self.parks += len(set(planner.parked) - was)
        for name, device in planner.devices.items():
            for media, key in device.victim_key.items():
                if device.quota_copies.get(media, 0) > 0 and not device.unindexed:
                    assert key == planned_key(planner, device), (name, media)
        for name, device in planner.devices.items():
            assert device.parked == (name in planner.parked), name
        for media, writers in planner.writers.items():
            expected = [n for n, d in planner.devices.items() if d.online and media in d.stock]
            assert [d.name for d in writers] == expected, media
        return plan


@pytest.mark.parametrize("arrival", ["poisson", "batch"])
def test_indexes_are_live(arrival: str) -> None:
    workload = generate_workload(
        requests=1500,
        titles=150,
        devices=30,
        seed=3,
        arrival=arrival,  # type: ignore[arg-type]
    )
    checked: list[_CheckedPlanner] = []

    def start(snapshot: Snapshot) -> _CheckedPlanner:
        checked.append(_CheckedPlanner(snapshot))
        return checked[-1]

    simulate(workload, StandingPolicy(start), name="discflow")
    # Online, devices park again after their wakes; a batch parks each about once.
    assert checked[0].parks > (100 if arrival == "poisson" else 29)
