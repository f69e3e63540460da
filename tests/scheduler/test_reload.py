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
