"""Batch allocation and fetch-ahead: where titles go when links differ, and when."""

from __future__ import annotations

from dataclasses import replace

import pytest

from discflow.scheduler import CachedContent, QueuedRequest, choose_victims

from .builders import assignments, device, downloads, end_and_fetches, run_to_end, snapshot


def test_within_a_class_the_slowest_link_gets_the_fewest_titles() -> None:
    # Alike but for their links (one class); one title of 12 copies and three
    # of 2. The spread hands the largest group to the slow-link device, so it
    # fetches one title and the fast one the small ones. By name ("fast" before
    # "slow") it went the other way round: the slow device fetched four.
    contents = {f"t{i}": 1000 for i in range(4)}
    slow = device("slow", link_Bps=5.0)
    fast = device("fast", link_Bps=100.0)
    copies = [12, 2, 2, 2]
    requests = [(f"r{i}", f"t{i}", n) for i, n in enumerate(copies)]
    plans = run_to_end(snapshot([slow, fast], requests, contents=contents))
    assert sum(a.copies for a in assignments(plans)) == sum(copies)
    fetched = {
        name: {d.content for d in downloads(plans) if d.device == name} for name in ("slow", "fast")
    }
    assert len(fetched["slow"]) < len(fetched["fast"])
    assert fetched["slow"] == {"t0"}


def test_the_lp_charges_a_slow_link_for_each_title_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two classes (write speeds differ): a slow link whose fetch (2,000 s)
    # outlasts its horizon (900 s at most), and a fast one. Eight titles of two
    # copies each: every title the slow device is given idles its drive for
    # the fetch, and the LP charged for it gives that device fewer titles, so
    # the batch ends sooner than when the charge is off.
    contents = {f"t{i}": 1000 for i in range(8)}
    slow = device("slow", link_Bps=0.5, write_Bps=10.0)
    fast = device("fast", link_Bps=50.0, write_Bps=9.0)
    snap = snapshot([slow, fast], [(f"r{i}", f"t{i}", 2) for i in range(8)], contents=contents)

    charged_end, charged_slow = end_and_fetches(snap, "slow", copies=16)
    monkeypatch.setattr("discflow.scheduler._allocate.SWITCH_STALL_WEIGHT", 0.0)
    plain_end, plain_slow = end_and_fetches(snap, "slow", copies=16)
    assert charged_slow < plain_slow
    assert charged_end < plain_end


def test_a_device_that_can_cache_two_of_the_largest_fetches_it_while_burning() -> None:
    # One drive (10 s a copy of "a", cached), a slow link (the 1,000-byte "c"
    # takes 1,000 s) and a cache that holds two of "c". The horizon is the
    # largest content's fetch time (900 s at most), not the median's (100 s),
    # so "c" is fetched from the start while the 20 copies of "a" burn and its
    # copy ends at 1,100 s; with the median's horizon the fetch started only
    # 100 s before the drive freed and the copy ended at 1,200 s.
    contents = {"a": 100, "b": 100, "c": 1000}
    dev = device("D", link_Bps=1.0, cache_bytes=2500, cached=(CachedContent("a", 100),))
    plans = run_to_end(snapshot([dev], [("r0", "a", 20), ("r1", "c", 1)], contents=contents))
    ends = {a.request: a.end_s for a in assignments(plans)}
    assert [(d.content, d.start_s) for d in downloads(plans)] == [("c", 0.0)]
    assert ends["r1"] == pytest.approx(1100.0)


def test_a_device_burns_the_content_it_holds_before_the_titles_it_fetches() -> None:
    # One drive, a cache of two contents, "a" held. Smith's rule alone puts the
    # short fetched titles "b" and "c" before the 10 copies of "a"; then the
    # fetch of "c" evicted the idle "a" and it was fetched again for its copies.
    contents = {"a": 1000, "b": 1000, "c": 1000}
    dev = device("D", cache_bytes=2000, cached=(CachedContent("a", 1000),))
    requests = [("ra", "a", 10), ("rb", "b", 1), ("rc", "c", 1)]
    plans = run_to_end(snapshot([dev], requests, contents=contents))
    assert sum(a.copies for a in assignments(plans)) == 12
    assert sorted(d.content for d in downloads(plans)) == ["b", "c"]


def test_eviction_spares_contents_the_devices_planned_work_needs() -> None:
    # Both entries can go now; GDSF alone evicts the unused "planned" first.
    idle = [CachedContent("planned", 1000, hits=0), CachedContent("done", 1000, hits=5)]
    plain = choose_victims(idle, need_bytes=500, keep="new", now=0.0, policy="gdsf")
    spared = choose_victims(
        idle, need_bytes=500, keep="new", now=0.0, policy="gdsf", planned={"planned"}
    )
    assert plain is not None and [v.content for v in plain] == ["planned"]
    assert spared is not None and [v.content for v in spared] == ["done"]


def test_the_regroup_gives_a_split_group_to_the_holder_when_the_batch_end_allows() -> None:
    # Two CD devices of one class, "X" holding "a" and "Y" on a slow link, and
    # a DVD device whose 20 copies set the batch's end (2,000 s). The spread
    # fills the CD class to its own end (500 s), 5 copies of "a" each, so "Y"
    # fetched "a" for 1,000 s; all 10 on "X" end at 1,000 s, within the batch.
    contents = {"a": 1000, "d": 1000}
    holder = device("X", cached=(CachedContent("a", 1000),))
    slow = device("Y", link_Bps=1.0)
    dvd = device("V", media="DVD-R")
    snap = snapshot([holder, slow, dvd], [("ra", "a", 10)], contents=contents)
    snap = replace(snap, requests=(*snap.requests, QueuedRequest("rd", "d", "DVD-R", 20, 0.0, 1)))
    plans = run_to_end(snap)
    assert sum(a.copies for a in assignments(plans)) == 30
    assert [d.content for d in downloads(plans)] == ["d"]
    assert {a.device for a in assignments(plans) if a.request == "ra"} == {"X"}


def test_a_group_that_fits_whole_on_a_later_device_is_not_split() -> None:
    # One class (same speeds, free title switches: a 1 s fetch, big caches):
    # a 1-drive device with the slower link, filled first, and a 4-drive one.
    # The 36-copy title does not fit the 1-drive device's share (9.6 copies),
    # but fits the 4-drive one's (38.4): it goes there whole and is fetched
    # once; the wrap split it between the two (two fetches).
    contents = {f"t{i}": 1000 for i in range(5)}
    one = device("one", link_Bps=1000.0, write_Bps=100.0)
    four = device("four", drives=(0.0,) * 4, link_Bps=2000.0, write_Bps=100.0)
    copies = [36, 3, 3, 3, 3]
    requests = [(f"r{i}", f"t{i}", n) for i, n in enumerate(copies)]
    plans = run_to_end(snapshot([one, four], requests, contents=contents))
    assert sum(a.copies for a in assignments(plans)) == sum(copies)
    assert [d.device for d in downloads(plans) if d.content == "t0"] == ["four"]


def test_an_idle_device_does_not_fetch_to_steal_from_a_device_that_is_not_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "long" alone writes DVD: its 40 copies (4,000 s) set the batch's end. "a"
    # holds the six CD titles and is given them (600 s); "b", slower and
    # holding none, has nothing. Stealing from "a" would have "b" fetch titles
    # "a" holds, and end no sooner: nothing is fetched but the DVD title.
    # Without the gate, "b" fetched two of them for the same end.
    contents = {f"t{i}": 1000 for i in range(6)} | {"big": 1000}
    held = tuple(CachedContent(f"t{i}", 1000, last_used_s=0.0) for i in range(6))
    devices = [
        device("long", media="DVD-R", write_Bps=10.0, link_Bps=1000.0),
        device("a", write_Bps=100.0, link_Bps=1000.0, cached=held),
        device("b", write_Bps=50.0, link_Bps=1000.0),
    ]
    snap = snapshot(devices, [(f"r{i}", f"t{i}", 10) for i in range(6)], contents=contents)
    dvd = replace(snap.requests[0], id="rd", content="big", media="DVD-R", copies=40, seq=6)
    snap = replace(snap, requests=(*snap.requests, dvd))

    gated_end, _ = end_and_fetches(snap, "b", copies=100)
    gated = [(d.device, d.content) for d in downloads(run_to_end(snap))]
    monkeypatch.setattr("discflow.scheduler._planned.FETCH_STEAL_NEAR", 1.0)
    plain_end, plain_fetches = end_and_fetches(snap, "b", copies=100)
    assert gated == [("long", "big")]
    assert plain_fetches > 0
    assert gated_end == plain_end
