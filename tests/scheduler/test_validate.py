"""The validator catches each kind of broken plan; the simulator refuses cheats."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from discflow.errors import SchedulingError
from discflow.scheduler import (
    Assignment,
    Plan,
    Snapshot,
    parse_workload,
    plan_discflow,
    simulate,
    validate_plan,
)

from .builders import workload_doc


def _doc() -> dict[str, Any]:
    # pub-1 holds c1; c2 must be downloaded; 2 drives; 3 CD-R blanks.
    doc = workload_doc(
        contents=[{"id": "c1", "size_bytes": 650000000}, {"id": "c2", "size_bytes": 700000000}],
        requests=[
            {"id": "r1", "content": "c1", "media": "CD-R", "copies": 2, "arrival_s": 0.0},
            {"id": "r2", "content": "c2", "media": "CD-R", "copies": 1, "arrival_s": 5.0},
            {"id": "r3", "content": "c1", "media": "BD-R", "copies": 1, "arrival_s": 0.0},
        ],
    )
    doc["devices"][0]["media"]["CD-R"]["loaded"] = 3
    return doc


def _valid() -> tuple[Any, dict[str, Any]]:
    w = parse_workload(_doc())
    plan = simulate(w, plan_discflow, name="discflow").plan  # the live, stateless call
    assert validate_plan(w, plan) == []
    return w, plan


def test_simulated_plan_of_the_example_is_valid_and_complete() -> None:
    w, plan = _valid()
    assert sorted((b["request"], b["copy"]) for b in plan["burns"]) == [
        ("r1", 0),
        ("r1", 1),
        ("r2", 0),
    ]
    assert plan["unplaceable"] == [{"request": "r3", "reason": "no device writes BD-R"}]
    assert [d["content"] for d in plan["downloads"]] == ["c2"]
    # Not before r2 arrives; fetched ahead so the burn starts when a drive frees.
    first_free = min(b["end_s"] for b in plan["burns"] if b["request"] == "r1")
    assert 5.0 <= plan["downloads"][0]["start_s"]
    assert plan["downloads"][0]["end_s"] <= first_free


def _broken(mutate: Any) -> list[str]:
    w, plan = _valid()
    bad = copy.deepcopy(plan)
    mutate(bad)
    return validate_plan(w, bad)


def test_missing_copy_is_rule_1() -> None:
    errors = _broken(lambda p: p["burns"].pop())
    assert any(e.startswith("rule 1") for e in errors)


def test_two_discs_on_one_drive_at_once_is_rule_2() -> None:
    def clash(p: dict[str, Any]) -> None:
        r1 = [b for b in p["burns"] if b["request"] == "r1"]
        r1[1]["drive"] = r1[0]["drive"]

    assert any(e.startswith("rule 2") for e in _broken(clash))


def test_burn_before_arrival_is_rule_3() -> None:
    def early(p: dict[str, Any]) -> None:
        b = next(b for b in p["burns"] if b["request"] == "r2")
        shift = b["start_s"] - 1.0
        b["start_s"] -= shift
        b["end_s"] -= shift

    errors = _broken(early)
    assert any(e.startswith("rule 3") for e in errors)
    assert any(e.startswith("rule 4") for e in errors)  # and before c2 was fetched


def test_burn_after_eviction_is_rule_4() -> None:
    def evict(p: dict[str, Any]) -> None:
        p["evictions"].append({"device": "pub-1", "content": "c1", "at_s": 0.0})

    assert any(e.startswith("rule 4") for e in _broken(evict))


def test_cache_overflow_is_rule_5() -> None:
    w, plan = _valid()
    doc = _doc()
    doc["devices"][0]["cache_bytes"] = 1_000_000_000  # c1 + c2 no longer fit together
    assert any(e.startswith("rule 5") for e in validate_plan(parse_workload(doc), plan))


def test_more_burns_than_blanks_is_rule_6() -> None:
    w, plan = _valid()
    doc = _doc()
    doc["devices"][0]["media"]["CD-R"]["loaded"] = 2
    assert any(e.startswith("rule 6") for e in validate_plan(parse_workload(doc), plan))


def test_refusing_a_servable_request_is_rule_7() -> None:
    def refuse(p: dict[str, Any]) -> None:
        p["burns"] = [b for b in p["burns"] if b["request"] != "r2"]
        p["unplaceable"].append({"request": "r2", "reason": "lazy"})

    assert any(e.startswith("rule 7") for e in _broken(refuse))


def test_simulator_refuses_a_policy_that_drops_requests() -> None:
    w = parse_workload(_doc())
    with pytest.raises(SchedulingError, match="dropped"):
        simulate(w, lambda snap: Plan(), name="lazy")


def test_simulator_refuses_a_burn_of_uncached_content() -> None:
    def cheat(snap: Snapshot) -> Plan:
        r = snap.requests[0]
        return Plan(assignments=(Assignment(r.id, "pub-1", r.content, r.media, 1, 0, 0),))

    doc = _doc()
    doc["requests"] = [doc["requests"][1] | {"arrival_s": 0.0}]
    with pytest.raises(SchedulingError, match="without cache"):
        simulate(parse_workload(doc), cheat, name="cheat")


def test_a_download_faster_than_the_link_is_rule_4() -> None:
    def quick(p: dict[str, Any]) -> None:
        p["downloads"][0]["end_s"] -= 1.0

    assert any(e.startswith("rule 4") and "lasts" in e for e in _broken(quick))


def test_a_burn_shorter_than_the_media_allows_is_rule_1() -> None:
    def quick(p: dict[str, Any]) -> None:
        p["burns"][0]["end_s"] -= 10.0

    assert any(e.startswith("rule 1") and "lasts" in e for e in _broken(quick))


def test_evicting_a_content_mid_burn_is_rule_5() -> None:
    def evict(p: dict[str, Any]) -> None:
        b = next(b for b in p["burns"] if b["request"] == "r1")
        p["evictions"].append(
            {"device": "pub-1", "content": "c1", "at_s": (b["start_s"] + b["end_s"]) / 2}
        )

    assert any(e.startswith("rule 5") and "mid-burn" in e for e in _broken(evict))


def test_a_reload_landing_early_or_too_big_is_rule_6() -> None:
    def early(p: dict[str, Any]) -> None:
        p["reloads"].append(
            {"device": "pub-1", "media": "CD-R", "notice_s": 0.0, "loaded_s": 10.0, "count": 500}
        )

    errors = [e for e in _broken(early) if e.startswith("rule 6")]
    assert any("reload_delay_s" in e for e in errors)
    assert any("not reload_count" in e for e in errors)


def test_a_copy_burned_twice_is_rule_1() -> None:
    def twice(p: dict[str, Any]) -> None:
        p["burns"].append(dict(p["burns"][0], drive=1, start_s=5000.0, end_s=5000.0 + 143.33))

    assert any(e.startswith("rule 1") for e in _broken(twice))


def test_a_burn_on_a_device_without_that_media_is_rule_1() -> None:
    def wrong(p: dict[str, Any]) -> None:
        p["burns"][0]["media"] = "DVD-R"

    assert any(e.startswith("rule 1") for e in _broken(wrong))
