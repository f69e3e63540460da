"""The steal index holds every device's live key unless a reload or notice moved it.

``_next_victim`` trusts the newest entry of a device not marked ``unindexed``
(no key recomputed per pop), so every other change to a device's planned end
must re-index it where it is made; this checks that after every round."""

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

    def step(self, *args: Any, **kwargs: Any) -> Plan:
        planner = self.planner
        plan = planner.step(*args, **kwargs)
        for (name, media), key in planner.victim_key.items():
            if planner.quota_copies.get((name, media), 0) > 0 and name not in planner.unindexed:
                assert key == planned_key(planner, planner.devices[name]), (name, media)
        return plan


@pytest.mark.parametrize("arrival", ["poisson", "batch"])
def test_indexed_keys_are_live(arrival: str) -> None:
    workload = generate_workload(
        requests=1500,
        titles=150,
        devices=30,
        seed=3,
        arrival=arrival,  # type: ignore[arg-type]
    )
    simulate(workload, StandingPolicy(_CheckedPlanner), name="discflow")
