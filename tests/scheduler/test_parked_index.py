"""The parked writers of each media are the parked devices writing it, in writer order.

``wake_for`` walks ``parked_writers`` instead of every writer, so it finds the
devices the old walk found only while that index matches ``parked``; this
checks it after every round, on a fleet where devices run dry, get woken and
park again many times."""

from __future__ import annotations

from typing import Any

import pytest

from discflow.scheduler import generate_workload, simulate
from discflow.scheduler._discflow import DiscflowPlanner
from discflow.scheduler._model import Plan, Snapshot
from discflow.scheduler._simulate import StandingPolicy


class _CheckedPlanner:
    """The real planner, checked after every round (compiled classes take no
    interpreted subclasses)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.planner = DiscflowPlanner(snapshot)
        self.parks = 0

    def step(self, *args: Any, **kwargs: Any) -> Plan:
        planner = self.planner
        was = set(planner.parked)
        plan = planner.step(*args, **kwargs)
        self.parks += len(set(planner.parked) - was)
        for media, names in planner.writers.items():
            expected = [rank for rank, name in enumerate(names) if name in planner.parked]
            assert planner.parked_writers[media] == expected, media
        return plan


@pytest.mark.parametrize("arrival", ["poisson", "batch"])
def test_parked_writers_match_parked(arrival: str) -> None:
    workload = generate_workload(
        requests=1200,
        titles=120,
        devices=25,
        seed=6,
        arrival=arrival,  # type: ignore[arg-type]
    )
    checked: list[_CheckedPlanner] = []

    def start(snapshot: Snapshot) -> _CheckedPlanner:
        checked.append(_CheckedPlanner(snapshot))
        return checked[-1]

    simulate(workload, StandingPolicy(start), name="discflow")
    # Online, devices park again after every wake (the index is exercised);
    # a batch parks each once, at its end.
    assert checked[0].parks > (100 if arrival == "poisson" else 24)
