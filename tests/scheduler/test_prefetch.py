"""Prefetch of contents in demand into idle devices (``_prefetch``)."""

from __future__ import annotations

import math

from discflow.scheduler import CachedContent, DiscflowPlanner, QueuedRequest
from discflow.scheduler._prefetch import DEMAND_TIME_S, HOT_ENTRIES, Demand

from .builders import device, snapshot


def _order(rid: str, content: str, at: float, seq: int, copies: int = 1) -> QueuedRequest:
    return QueuedRequest(rid, content, "CD-R", copies, at, seq)


def _planner(b_cache: int = 10_000, b_link: float = 100.0) -> DiscflowPlanner:
    # A holds c and has three drives (it takes every order for c at once); B is
    # idle, holds nothing, and fetches 1,000 bytes in 10 s.
    a = device("A", drives=(0.0, 0.0, 0.0), cached=(CachedContent("c", 1000),))
    b = device("B", cache_bytes=b_cache, link_Bps=b_link)
    return DiscflowPlanner(snapshot([a, b], [], contents={"c": 1000, "d": 1000}))


def _three_orders_for_c(planner: DiscflowPlanner) -> None:
    for seq, at in enumerate((0.0, 10.0, 20.0)):
        plan = planner.step(at, [_order(f"r{seq}", "c", at, seq)])
        assert [x.device for x in plan.assignments] == ["A"]


def test_an_idle_device_fetches_the_content_in_demand_and_the_next_order_skips_the_fetch() -> None:
    planner = _planner()
    _three_orders_for_c(planner)
    # B is looked at with nothing to take: three orders for c in the last
    # minute, one holder, so B fetches it into its free room.
    planner.wake(planner.devices["B"], 30.0)
    plan = planner.step(30.0)
    assert [(d.device, d.content, d.start_s, d.end_s) for d in plan.downloads] == [
        ("B", "c", 30.0, 40.0)
    ]
    assert plan.assignments == ()
    # The next order for c: A's drives are busy until 100, B holds c: B burns it
    # at once, with no fetch of its own.
    plan = planner.step(50.0, [_order("r3", "c", 50.0, 3)])
    assert [(x.device, x.start_s) for x in plan.assignments] == [("B", 50.0)]
    assert plan.downloads == ()


def test_no_prefetch_without_free_room_or_over_a_slow_link() -> None:
    for planner in (_planner(b_cache=500), _planner(b_link=1.0)):  # no room / 1,000 s fetch
        _three_orders_for_c(planner)
        planner.wake(planner.devices["B"], 30.0)
        assert planner.step(30.0).downloads == ()


def test_no_prefetch_of_a_content_no_longer_in_demand() -> None:
    planner = _planner()
    _three_orders_for_c(planner)
    # Three orders decay below one within the demand time (3 e^-t/T < 1 for
    # t > T ln 3): B, looked at later, fetches nothing.
    later = 20.0 + DEMAND_TIME_S * math.log(3) + 60.0
    planner.wake(planner.devices["B"], later)
    assert planner.step(later).downloads == ()


def test_a_batch_is_not_counted_as_demand() -> None:
    # 4 copies per online drive at once is a batch (the LP allocates it): the
    # orders already queued say nothing about orders to come.
    planner = _planner()
    batch = [_order(f"b{k}", "c", 0.0, k, copies=2) for k in range(10)]  # 20 > 4 x 4
    planner.step(0.0, batch)
    assert planner.demand.scores == {}
    planner.step(1.0, [_order("t", "d", 1.0, 10)])
    assert list(planner.demand.scores) == [("d", "CD-R")]


def test_demand_ranks_by_decayed_count_and_replaces_the_least_asked_for() -> None:
    demand = Demand()
    demand.note(_order("x1", "x", 0.0, 0))
    for k in range(3):
        demand.note(_order(f"y{k}", "y", 0.0, k))
    # y: 3 orders at 0; x: 1 at 0; z: 1 at T (worth e^1 = 2.7 orders at 0).
    demand.note(_order("z", "z", DEMAND_TIME_S, 9))
    assert [c for _, c in demand.ranking("CD-R")] == ["y", "z", "x"]
    assert math.isclose(demand.scores[("y", "CD-R")], math.log(3))
    # Full: a new pair replaces the least asked-for one, if it is asked for more.
    for k in range(HOT_ENTRIES - 3):
        demand.note(_order(f"f{k}", f"f{k}", 0.0, 10 + k))
    assert len(demand.scores) == HOT_ENTRIES
    demand.note(_order("new", "new", 2 * DEMAND_TIME_S, 999))
    assert len(demand.scores) == HOT_ENTRIES
    assert ("new", "CD-R") in demand.scores
    # (of the pairs asked for once at 0, ties go by name: x is the last, so dropped)
    assert ("x", "CD-R") not in demand.scores
    ranked = demand.ranking("CD-R")
    assert ranked == sorted(ranked)  # (-score, content): most in demand first
