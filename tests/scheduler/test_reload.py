"""Blanks are asked for ahead of time: the reload lands before the drives starve."""

from __future__ import annotations

from typing import Any

from discflow.scheduler import POLICIES, parse_workload, simulate, validate_plan

from .builders import workload_doc


def _scarce(loaded: int, delay: float) -> dict[str, Any]:
    # One device, 2 drives, a cached CD image of 100 s per disc, 60 discs wanted.
    doc = workload_doc(
        contents=[{"id": "c1", "size_bytes": 700_000_000}],
        requests=[
            {"id": f"r{i}", "content": "c1", "media": "CD-R", "copies": 3, "arrival_s": 0.0}
            for i in range(20)
        ],
        operator={"reload_delay_s": delay, "reload_count": 100},
    )
    device = doc["devices"][0]
    device["media"] = {"CD-R": {"write_Bps": 7_000_000, "overhead_s": 0, "loaded": loaded}}
    return doc


def test_reload_is_asked_for_before_the_blanks_run_out() -> None:
    w = parse_workload(_scarce(loaded=30, delay=900))
    result = simulate(w, POLICIES["discflow"], name="discflow")
    assert validate_plan(w, result.plan) == []
    (reload,) = result.plan["reloads"]
    burns = sorted(result.plan["burns"], key=lambda b: b["start_s"])
    # The 30th disc (the last loaded one) starts at 1400 s: the notice went out
    # while blanks were left, and the reload landed before any drive waited.
    thirtieth = burns[29]["start_s"]
    assert reload["notice_s"] < thirtieth
    assert reload["loaded_s"] <= burns[30]["start_s"]
    assert max(b["end_s"] for b in burns) == 60 / 2 * 100.0  # no drive ever idled
    # Ahead of time: more blanks were left than the low-media threshold (10),
    # which alone would have asked 500 s before running dry, too late for 900 s.
    promised = sum(1 for b in burns if b["start_s"] <= reload["notice_s"])
    assert 30 - promised > 10


def test_pooled_work_no_stocked_device_can_take_still_gets_blanks_asked_for() -> None:
    # Found by Hypothesis (the planner looped for ever): only pub-0 can hold c2 in its
    # cache and it has no DVD-R; pub-1 has a DVD-R blank but too small a cache. Woken a
    # horizon later for pooled work it could never take, pub-1 kept the planner awake,
    # so the "nothing will wake: ask for blanks" rule never ran and r1 waited for ever.
    def disc(write_Bps: float, overhead_s: float, loaded: int) -> dict[str, float]:
        return {"write_Bps": write_Bps, "overhead_s": overhead_s, "loaded": loaded}

    doc = {
        "media": {"CD-R": {"capacity_bytes": 700}, "DVD-R": {"capacity_bytes": 4700}},
        "devices": [
            {
                "name": "pub-0",
                "drives": 1,
                "media": {"DVD-R": disc(27, 8, 0)},
                "cache_bytes": 2770,
                "link_Bps": 15,
                "cached": ["c0"],
            },
            {
                "name": "pub-1",
                "drives": 3,
                "media": {"CD-R": disc(26, 0, 4), "DVD-R": disc(7, 2, 1)},
                "cache_bytes": 847,
                "link_Bps": 11,
                "cached": [],
            },
            {
                "name": "pub-2",
                "drives": 3,
                "media": {"DVD-R": disc(2, 1, 3)},
                "cache_bytes": 1591,
                "link_Bps": 71,
                "cached": [],
            },
        ],
        "contents": [
            {"id": "c0", "size_bytes": 2555},
            {"id": "c1", "size_bytes": 986},
            {"id": "c2", "size_bytes": 2253},
        ],
        "requests": [
            {"id": "r0", "content": "c1", "media": "DVD-R", "copies": 4, "arrival_s": 12.0},
            {"id": "r1", "content": "c2", "media": "DVD-R", "copies": 4, "arrival_s": 100.0},
            {"id": "r2", "content": "c1", "media": "DVD-R", "copies": 4, "arrival_s": 63.0},
            {"id": "r3", "content": "c1", "media": "DVD-R", "copies": 4, "arrival_s": 12.0},
            {"id": "r4", "content": "c0", "media": "BD-R", "copies": 2, "arrival_s": 74.0},
        ],
        "operator": {"reload_delay_s": 16.0, "reload_count": 3},
    }
    workload = parse_workload(doc)
    result = simulate(workload, POLICIES["discflow"], name="discflow")
    assert validate_plan(workload, result.plan) == []
    assert set(result.completion_s) == {"r0", "r1", "r2", "r3"}  # r4: no BD-R anywhere
    asked = {(r["device"], r["media"]) for r in result.plan["reloads"]}
    assert ("pub-0", "DVD-R") in asked  # the one device that can hold c2 was asked
