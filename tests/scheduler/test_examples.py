"""Worked examples with exact expected decisions (claims 8 and 9)."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest

from discflow.domain import Priority
from discflow.scheduler import (
    AGING_RATE,
    DUE_FACTOR,
    CachedContent,
    DiscflowPlanner,
    Plan,
    QueuedRequest,
    plan_discflow,
    plan_first_available,
)

from .builders import assignments, device, downloads, end_and_fetches, run_to_end, snapshot


def test_cached_device_wins_over_idle_device_when_download_is_slower() -> None:
    # A holds c but its drive is busy until 100; B is idle but must download
    # 1000 bytes at 2 B/s (500 s). A burn of c takes 1000/10 = 100 s.
    a = device("A", drives=(100.0,), cached=(CachedContent("c", 1000),))
    b = device("B", link_Bps=2.0)
    plan = plan_discflow(snapshot([b, a], [("r1", "c", 1)], contents={"c": 1000}))
    assert [(x.device, x.copies, x.start_s, x.end_s) for x in plan.assignments] == [
        ("A", 1, 100.0, 200.0)
    ]
    assert plan.downloads == ()


def test_idle_device_wins_when_its_download_is_quicker_than_the_wait() -> None:
    # Same, but A is busy until 1000 and B downloads in 10 s: B ends at 110.
    a = device("A", drives=(1000.0,), cached=(CachedContent("c", 1000),))
    b = device("B", link_Bps=100.0)
    plan = plan_discflow(snapshot([a, b], [("r1", "c", 1)], contents={"c": 1000}))
    assert [(x.device, x.start_s, x.end_s) for x in plan.assignments] == [("B", 10.0, 110.0)]
    assert [(d.device, d.content, d.start_s, d.end_s) for d in plan.downloads] == [
        ("B", "c", 0.0, 10.0)
    ]


def test_first_available_ignores_the_cache_and_loses() -> None:
    a = device("A", drives=(100.0,), cached=(CachedContent("c", 1000),))
    b = device("B", link_Bps=2.0)
    plan = plan_first_available(snapshot([b, a], [("r1", "c", 1)], contents={"c": 1000}))
    assert [(x.device, x.end_s) for x in plan.assignments] == [("B", 600.0)]


def test_grouping_fetches_once_for_many_requests_and_burns_back_to_back() -> None:
    dev = device("A", link_Bps=100.0)
    reqs = [(f"r{i}", "c", 1) for i in range(5)]
    plans = run_to_end(snapshot([dev], reqs, contents={"c": 1000}))
    assert [(d.device, d.content) for d in downloads(plans)] == [("A", "c")]
    spans = sorted((x.start_s, x.end_s) for x in assignments(plans))
    assert spans == [(10.0 + 100 * k, 110.0 + 100 * k) for k in range(5)]


def test_interleaved_contents_are_grouped_per_content() -> None:
    # r1:c, r2:d, r3:c arrive interleaved; the one drive burns c, c, d or d, c, c.
    dev = device("A", link_Bps=1000.0)
    plans = run_to_end(
        snapshot(
            [dev], [("r1", "c", 1), ("r2", "d", 1), ("r3", "c", 1)], contents={"c": 1000, "d": 1000}
        )
    )
    order = [x.content for x in sorted(assignments(plans), key=lambda a: a.start_s)]
    assert order in (["c", "c", "d"], ["d", "c", "c"])
    assert len(downloads(plans)) == 2


def test_large_request_is_split_across_devices_when_that_is_sooner() -> None:
    cached = (CachedContent("c", 1000),)
    a, b = device("A", cached=cached), device("B", cached=cached)
    plans = run_to_end(snapshot([a, b], [("r1", "c", 10)], contents={"c": 1000}))
    per_device: dict[str, int] = {}
    for x in assignments(plans):
        per_device[x.device] = per_device.get(x.device, 0) + x.copies
    assert per_device == {"A": 5, "B": 5}
    assert max(x.end_s for x in assignments(plans)) == 500.0


def test_only_work_starting_within_the_horizon_is_bound() -> None:
    # One drive, 100 s per copy; the horizon is one typical fetch (1000 B at
    # 10 B/s = 100 s): the first round binds the copies starting at 0 and 100,
    # keeps three in the server's queue and asks to be woken a horizon before
    # the drive frees again.
    dev = device("A", cached=(CachedContent("c", 1000),))
    plan = plan_discflow(snapshot([dev], [("r1", "c", 5)], contents={"c": 1000}))
    assert [(x.copies, x.start_s, x.end_s) for x in plan.assignments] == [(2, 0.0, 200.0)]
    assert [(w.request, w.copies) for w in plan.waiting] == [("r1", 3)]
    assert "late binding" in plan.waiting[0].reason
    assert plan.wake_s == 100.0


def test_the_rest_of_a_started_request_is_bound_two_drive_rounds_ahead() -> None:
    # Two drives, 100 s per copy, horizon 100 s; 7 copies (not a batch: under 4
    # per drive). The first bind takes a copy per free drive and claims the
    # rest; the rest is bound for the drives free within the horizon plus one
    # more round of both drives (STARTED_ROUNDS = 2), so 6 copies are bound,
    # ending at 300, and 1 stays in the server's queue until 200.
    dev = device("A", drives=(0.0, 0.0), cached=(CachedContent("c", 1000),))
    plan = plan_discflow(snapshot([dev], [("r1", "c", 7)], contents={"c": 1000}))
    assert sum(x.copies for x in plan.assignments) == 6
    assert max(x.end_s for x in plan.assignments) == 300.0
    assert [(w.request, w.copies) for w in plan.waiting] == [("r1", 1)]
    assert plan.wake_s == 200.0


def test_eviction_takes_unpinned_content_and_never_pinned() -> None:
    dev = device(
        "A",
        cache_bytes=1000,
        cached=(
            CachedContent("p", 600, last_used_s=0.0, pinned=True),
            CachedContent("q", 300, last_used_s=5.0),
        ),
    )
    plan = plan_discflow(snapshot([dev], [("r1", "c", 1)], contents={"c": 400}, now=10.0))
    assert [(e.content, e.for_content) for e in plan.evictions] == [("q", "c")]
    assert [a.request for a in plan.assignments] == ["r1"]


def test_pinned_content_that_leaves_no_room_makes_the_request_wait() -> None:
    dev = device("A", cache_bytes=1000, cached=(CachedContent("p", 600, pinned=True),))
    plan = plan_discflow(snapshot([dev], [("r1", "c", 1)], contents={"c": 500}))
    assert plan.evictions == ()
    assert plan.assignments == ()
    assert [(w.request, w.copies) for w in plan.waiting] == [("r1", 1)]
    assert plan.unplaceable == ()


def test_busy_content_is_evicted_only_after_its_last_burn() -> None:
    # The fetch cannot start before 300 s, beyond the 50 s horizon, so the
    # first round binds nothing (the device looks again); a later round does.
    dev = device("A", cache_bytes=1000, cached=(CachedContent("q", 800, busy_until_s=300.0),))
    snap = snapshot([dev], [("r1", "c", 1)], contents={"c": 500})
    assert plan_discflow(snap).assignments == ()
    plans = run_to_end(snap)
    assert [(e.content, e.at_s) for p in plans for e in p.evictions] == [("q", 300.0)]
    assert [(d.start_s, d.end_s) for d in downloads(plans)] == [(300.0, 350.0)]
    assert [(x.start_s, x.end_s) for x in assignments(plans)] == [(350.0, 400.0)]


@pytest.mark.parametrize(
    ("blanks", "copies", "pending", "notices", "waiting"),
    [
        (12, 2, False, [], []),  # 10 left: at the threshold, not below
        (12, 3, False, ["Load 100 CD-R into A: 0 requests waiting (9 blanks left)"], []),
        (2, 5, False, ["Load 100 CD-R into A: 1 request waiting (0 blanks left)"], [3]),
        (2, 5, True, [], [3]),  # a reload is already on its way
    ],
)
def test_notice_is_raised_exactly_when_media_runs_short(
    blanks: int, copies: int, pending: bool, notices: list[str], waiting: list[int]
) -> None:
    # Three idle drives: every copy (up to the blanks) starts now, so all are bound.
    dev = device(
        "A",
        drives=(0.0, 0.0, 0.0),
        blanks=blanks,
        cached=(CachedContent("c", 100),),
        reload_pending=pending,
    )
    plan = plan_discflow(snapshot([dev], [("r1", "c", copies)], contents={"c": 100}))
    assert [n.message for n in plan.notices] == notices
    assert [w.copies for w in plan.waiting] == waiting
    assert sum(a.copies for a in plan.assignments) == min(blanks, copies)


def test_requests_nobody_can_serve_are_reported_with_a_reason() -> None:
    dev = device("A", cache_bytes=1000)
    snap = snapshot(
        [dev],
        [("r1", "big", 1), ("r2", "huge", 1)],
        contents={"big": 5000, "huge": 800_000},
    )
    reasons = {u.request: u.reason for u in plan_discflow(snap).unplaceable}
    assert "largest cache" in reasons["r1"]
    assert "CD-R holds" in reasons["r2"]
    snap2 = snapshot([dev], [("r3", "c", 1)], contents={"c": 10}, media="BD-R")
    assert [u.reason for u in plan_discflow(snap2).unplaceable] == ["no device writes BD-R"]


def _finish(plans: list[Plan]) -> dict[str, float]:
    out: dict[str, float] = {}
    for a in assignments(plans):
        out[a.request] = max(out.get(a.request, 0.0), a.end_s)
    return out


def test_short_request_behind_a_long_one_finishes_first() -> None:
    # A 10-copy request queued first, a 1-copy request queued behind it: the
    # long one holds only the drive's next disc, so the short one goes next.
    dev = device("A", cached=(CachedContent("c", 1000), CachedContent("d", 1000)))
    plans = run_to_end(
        snapshot([dev], [("long", "c", 10), ("short", "d", 1)], contents={"c": 1000, "d": 1000})
    )
    done = _finish(plans)
    assert done["short"] <= 300.0
    assert done["long"] == 1100.0
    # First-available, which binds whole requests in arrival order, finishes it last.
    fa = plan_first_available(
        snapshot([dev], [("long", "c", 10), ("short", "d", 1)], contents={"c": 1000, "d": 1000})
    )
    assert {a.request: a.end_s for a in fa.assignments}["short"] == 1100.0


def test_rush_goes_before_normal_of_the_same_size() -> None:
    dev = device("A", cached=(CachedContent("c", 1000),))
    snap = snapshot([dev], [("n1", "c", 3), ("n2", "c", 3), ("r", "c", 3)], contents={"c": 1000})
    requests = tuple(
        replace(q, priority=Priority.RUSH) if q.id == "r" else q for q in snap.requests
    )
    done = _finish(run_to_end(replace(snap, requests=requests)))
    assert done["r"] < done["n1"] < done["n2"]


def test_aging_bounds_how_long_a_long_request_is_overtaken() -> None:
    # A long request (5 copies) waits while 1-copy requests keep arriving; with
    # linear aging it is overtaken only by requests that arrived less than
    # key / AGING_RATE after it, so it starts long before the stream ends.
    dev = device("A", cached=(CachedContent("c", 1000), CachedContent("d", 1000)))
    planner = DiscflowPlanner(snapshot([dev], [], contents={"c": 1000, "d": 1000}))
    long_key = 5 * 100.0  # its work on the fleet's fastest writer
    bound = long_key / AGING_RATE
    started: float | None = None
    t = 0.0
    arrivals = [QueuedRequest("long", "c", "CD-R", 5, 0.0, 0)]
    seq = 1
    while t < 3 * bound and started is None:
        plan = planner.step(t, arrivals)
        arrivals = []
        for a in plan.assignments:
            if a.request == "long":
                started = a.start_s
        t += 100.0  # one short arrival per burn time: the drive never runs dry
        arrivals.append(QueuedRequest(f"s{seq}", "d", "CD-R", 1, t, seq))
        seq += 1
    assert started is not None
    assert started <= bound + 200.0


def test_the_started_rest_of_a_long_request_goes_first_once_due() -> None:
    # A: two drives, 100 s a copy; B adds drives but no blanks, so 16 copies are
    # not a batch (4 per online drive). The 16-copy request starts on arrival
    # (two rounds bound) and claims its rest (14 copies: 7 rounds, 700 s); then
    # two 1-copy requests arrive every 100 s. By Smith's order with aging alone
    # the 10 copies left (500 s) are overtaken by every short one that arrives
    # before (500 - 100) / AGING_RATE = 4,000 s (it ended at 4,700 s before
    # DUE_FACTOR); once DUE_FACTOR x 700 s have passed since it arrived, the rest
    # goes first: it ends within a wake (the 100 s horizon), the burn running
    # then and its own 5 rounds.
    cached = (CachedContent("c", 1000), CachedContent("d", 1000))
    a = device("A", drives=(0.0, 0.0), cached=cached)
    b = device("B", drives=(0.0,) * 8, blanks=0, cached=cached)
    planner = DiscflowPlanner(snapshot([a, b], [], contents={"c": 1000, "d": 1000}))
    arrivals = [QueuedRequest("long", "c", "CD-R", 16, 0.0, 0)]
    ends: dict[str, float] = {}
    t, seq = 0.0, 1
    while t < 6000.0:
        for x in planner.step(t, arrivals).assignments:
            ends[x.request] = max(ends.get(x.request, 0.0), x.end_s)
        t += 100.0
        arrivals = [QueuedRequest(f"s{seq + k}", "d", "CD-R", 1, t, seq + k) for k in (0, 1)]
        seq += 2
    due = DUE_FACTOR * 7 * 100.0
    assert ends["long"] <= due + 100.0 + 100.0 + 5 * 100.0
    assert ends["long"] < (500.0 - 100.0) / AGING_RATE


def test_a_parked_device_is_handed_work_a_busy_holder_would_start_later() -> None:
    # A holds c but its drive is busy until 300 s; with a cache for two of the
    # largest title on a 20 B/s link it binds 500 s ahead, so it would bind the
    # new request to that drive (end 400). B is parked with an empty cache and a
    # 100 B/s link: it starts c after a 10 s fetch, sooner by more than that fetch
    # plus HANDOFF_GAIN_S (60 s), so A hands the request to B (BENCHMARKS.md,
    # "Online, session 11").
    contents = {"c": 1000, "d": 1000, "big": 10_000}
    a = device(
        "A", drives=(300.0,), cached=(CachedContent("c", 1000),), cache_bytes=20_000, link_Bps=20.0
    )
    b = device("B", cache_bytes=10_000, link_Bps=100.0)
    plan = plan_discflow(snapshot([a, b], [("r", "c", 1)], contents=contents))
    assert [(x.device, x.start_s, x.end_s) for x in plan.assignments] == [("B", 10.0, 110.0)]
    assert [(d.device, d.content) for d in plan.downloads] == [("B", "c")]


def test_parked_holders_share_a_new_request_without_fetching() -> None:
    # Three idle devices hold the content; 6 copies arrive later. The holders
    # woken for it take two copies each in the arrival's round (none claims
    # the rest while another is still to look), and nothing is downloaded.
    cached = (CachedContent("c", 1000),)
    devices = [device(name, cached=cached) for name in ("A", "B", "C")]
    planner = DiscflowPlanner(snapshot(devices, [], contents={"c": 1000}))
    assert planner.step(0.0).assignments == ()
    first = planner.step(50.0, [QueuedRequest("r", "c", "CD-R", 6, 50.0, 0)])
    per_device = {a.device: a.copies for a in first.assignments}
    assert per_device == {"A": 2, "B": 2, "C": 2}
    assert first.downloads == ()
    assert max(a.end_s for a in first.assignments) == 250.0


def test_a_device_freed_later_takes_over_planned_work_that_would_end_last() -> None:
    # A starts a 10-copy request at 0 (100 s a copy, ends at 1000 alone); B,
    # which holds the content too, is busy until 500. When B frees, the clock
    # has moved, and B still finds A's planned rest and evens it out.
    cached = (CachedContent("c", 1000),)
    a = device("A", cached=cached)
    b = device("B", cached=cached, drives=(500.0,))
    done = _finish(run_to_end(snapshot([a, b], [("r", "c", 10)], contents={"c": 1000})))
    assert done["r"] <= 800.0


def test_a_device_that_cannot_fetch_ahead_is_given_fewer_titles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two devices alike but for their links; neither cache holds two titles,
    # so each title a device is given stalls its drive for the download. The
    # batch allocation charges that stall: the slow-link device gets fewer
    # titles, and the batch ends sooner than when the stall is not charged.
    contents = {f"t{i}": 1000 for i in range(6)}
    slow = device("slow", cache_bytes=1500, link_Bps=2.0)
    fast = device("fast", cache_bytes=1500, link_Bps=50.0)
    snap = snapshot([slow, fast], [(f"r{i}", f"t{i}", 5) for i in range(6)], contents=contents)

    charged_end, charged_slow = end_and_fetches(snap, "slow", copies=30)
    monkeypatch.setattr("discflow.scheduler._allocate.FETCH_STALL_WEIGHT", 0.0)
    plain_end, plain_slow = end_and_fetches(snap, "slow", copies=30)
    assert charged_slow <= plain_slow
    assert charged_end < plain_end


def test_a_burn_keeps_every_field_of_its_cache_entry_but_its_use() -> None:
    # The bind path rebuilds the entry field by field (cheaper than
    # dataclasses.replace): a field added to CachedContent must be carried there.
    assert [f.name for f in fields(CachedContent)] == [
        "content",
        "size_bytes",
        "last_used_s",
        "ready_s",
        "busy_until_s",
        "pinned",
        "hits",
    ]
    entry = CachedContent(
        "p", 100, last_used_s=1.0, ready_s=2.0, busy_until_s=3.0, pinned=True, hits=4
    )
    snap = snapshot([device("A", cached=(entry,))], [("r1", "p", 1)], contents={"p": 100})
    planner = DiscflowPlanner(replace(snap, now=5.0))
    plan = planner.step(5.0, snap.requests)
    assert [(a.request, a.end_s) for a in plan.assignments] == [("r1", 15.0)]
    after = planner.devices["A"].cache["p"]
    assert after == replace(entry, last_used_s=5.0, busy_until_s=15.0, hits=5)


def test_a_device_whose_cache_is_busy_does_not_take_a_fetch_an_idle_one_starts_now() -> None:
    # A has a free drive, but its cache (1000 bytes) is full of q, which its
    # other drive burns until 1000 s: a fetch of c may start only then (the
    # eviction rule, see test_busy_content_is_evicted_only_after_its_last_burn).
    # B is idle with an empty cache. Both links fetch c in 50 s, so A's ready
    # time by its link alone (50 s) ties with B's; counting the wait for room,
    # B ends at 100 s and A would end at 1100 s. A looks first (sorted names).
    busy = CachedContent("q", 800, busy_until_s=1000.0)
    a = device("A", drives=(0.0, 1000.0), cache_bytes=1000, cached=(busy,))
    b = device("B", cache_bytes=1000)
    plans = run_to_end(snapshot([a, b], [("r", "c", 1)], contents={"c": 500, "q": 800}))
    assert [(x.device, x.start_s, x.end_s) for x in assignments(plans)] == [("B", 50.0, 100.0)]
    assert [(d.device, d.content) for d in downloads(plans)] == [("B", "c")]


def test_room_at_waits_for_the_victims_whose_burns_end_first() -> None:
    # 1000 bytes held in four entries; a 400-byte fetch needs 400 of them free.
    # The pinned one never frees; of the others the earliest to end go first.
    from discflow.scheduler._state import DeviceState

    cached = (
        CachedContent("p", 200, pinned=True),
        CachedContent("x", 300, busy_until_s=700.0),
        CachedContent("y", 300, busy_until_s=400.0, ready_s=450.0),
        CachedContent("z", 200, busy_until_s=100.0),
    )
    st = DeviceState.from_view(
        device("A", cache_bytes=1000, cached=cached), now=0.0, typical_bytes=500
    )
    assert st.room_at(400, 0.0) == 450.0  # z (200) at 100, then y (300) at 450
    assert st.room_at(400, 500.0) == 500.0  # never before now
    assert st.room_at(900, 0.0) == math.inf  # would need the pinned p
    assert st.room_at(100, 0.0) == 100.0  # z alone
    assert st.ready_after_room("c", 400, 0.0) == 450.0 + 40.0  # then the 40 s fetch
    assert st.ready_estimate("c", 400, 0.0) == 40.0  # by the link alone


def test_a_holder_that_starts_sooner_than_a_fetch_after_room_keeps_the_request() -> None:
    # A has a free drive but must wait until 60 s for room (q, burned by its
    # other drive, fills its cache), so its fetch of c would end at 110 s and its
    # burn at 160 s; by its link alone the fetch would end at 50 s. H holds c and
    # its drive frees at 100 s: it ends at 150 s, with no download. A looks first.
    busy = CachedContent("q", 800, busy_until_s=60.0)
    a = device("A", drives=(0.0, 60.0), cache_bytes=1000, cached=(busy,))
    h = device("H", drives=(100.0,), cache_bytes=10_000, cached=(CachedContent("c", 500),))
    plans = run_to_end(snapshot([a, h], [("r", "c", 1)], contents={"c": 500, "q": 800}))
    assert [(x.device, x.start_s, x.end_s) for x in assignments(plans)] == [("H", 100.0, 150.0)]
    assert downloads(plans) == []


def test_an_idle_holder_is_woken_before_a_busy_one_found_first() -> None:
    # A and B both hold c and burn it in 100 s; A (first in holder order) is busy
    # until 5 s, B is idle. The arrival wakes the holder that finishes a copy
    # first: B, which starts at 0 (before session 14 A was woken and took it at 5).
    held = (CachedContent("c", 1000),)
    a = device("A", drives=(5.0,), cached=held)
    b = device("B", cached=held)
    plan = plan_discflow(snapshot([a, b], [("r1", "c", 1)], contents={"c": 1000}))
    assert [(x.device, x.start_s, x.end_s) for x in plan.assignments] == [("B", 0.0, 100.0)]
    assert plan.downloads == ()


def test_of_two_idle_holders_the_one_that_writes_fewer_media_is_woken() -> None:
    # Both hold c and are idle with the same speed; A also writes DVD-R, which
    # B cannot: the CD-R request is left to B (A's drive time is worth more).
    held = (CachedContent("c", 1000),)
    cd = device("A", cached=held).media["CD-R"]
    a = replace(device("A", cached=held), media={"CD-R": cd, "DVD-R": replace(cd, media="DVD-R")})
    b = device("B", cached=held)
    plan = plan_discflow(snapshot([a, b], [("r1", "c", 1)], contents={"c": 1000}))
    assert [(x.device, x.start_s) for x in plan.assignments] == [("B", 0.0)]
