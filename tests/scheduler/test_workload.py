"""Workload files: field-precise errors, round trip, and the summary's bounds."""

from __future__ import annotations

from typing import Any

import pytest

from discflow.scheduler import (
    WorkloadError,
    generate_workload,
    lower_bounds,
    parse_workload,
    plan_discflow,
    simulate,
    summarize,
    workload_to_dict,
)

from .builders import workload_doc


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("contents"), "workload.contents: missing"),
        (
            lambda d: d["devices"][0]["media"]["CD-R"].update(write_Bps=0),
            "workload.devices[0].media.CD-R.write_Bps: expected a positive number, got 0",
        ),
        (
            lambda d: d["requests"][0].update(copies="3"),
            "workload.requests[0].copies: expected an integer >= 1, got '3'",
        ),
        (
            lambda d: d["requests"][0].update(content="nope"),
            "workload.requests[0].content: 'nope' is not in workload.contents",
        ),
        (
            lambda d: d["devices"][0].update(cache_bytes=10),
            "workload.devices[0].cached: the listed contents take 650000000 bytes",
        ),
        (
            lambda d: d["devices"][0]["media"].update({"BD-R": {"write_Bps": 1, "loaded": 1}}),
            "workload.devices[0].media.BD-R: media type 'BD-R' is not in workload.media",
        ),
        (lambda d: d["operator"].update(reload_count=0), "workload.operator.reload_count"),
    ],
)
def test_bad_workloads_name_the_wrong_field(edit: Any, message: str) -> None:
    doc = workload_doc()
    edit(doc)
    with pytest.raises(WorkloadError) as err:
        parse_workload(doc)
    assert message in str(err.value)


def test_generated_workload_round_trips_through_the_schema() -> None:
    w = generate_workload(requests=50, titles=10, devices=4, seed=1, arrival="poisson")
    assert parse_workload(workload_to_dict(w)) == w


def test_lower_bounds_of_a_worked_example() -> None:
    # One device, 2 drives; 3 copies of c1 (650 MB) at 7.8 MB/s + 60 s each.
    w = parse_workload(workload_doc())
    burn = 60 + 650000000 / 7800000
    bounds = lower_bounds(w)
    assert bounds["work"] == pytest.approx(3 * burn / 2)
    assert bounds["lp"] == pytest.approx(3 * burn / 2)
    assert bounds["request"] == pytest.approx(burn)  # c1 is cached: no download
    summary = summarize(w, simulate(w, plan_discflow, name="discflow"))
    assert summary["makespan_s"] == pytest.approx(2 * burn, abs=1e-3)
    assert summary["lower_bound_s"] == pytest.approx(1.5 * burn, abs=1e-3)
    assert summary["download_bytes"] == 0
    assert summary["download_lower_bound_bytes"] == 0


def test_lp_bound_sees_that_only_one_device_writes_dvd() -> None:
    # Two devices; only pub-1 writes DVD-R, so 4 DVD copies cannot share pub-2.
    doc = workload_doc()
    doc["devices"].append(
        {
            "name": "pub-2",
            "drives": 2,
            "media": {"CD-R": {"write_Bps": 7800000, "overhead_s": 60, "loaded": 10}},
            "cache_bytes": 20000000000,
            "link_Bps": 50000000,
            "cached": ["c1"],
        }
    )
    doc["requests"] = [
        {"id": "r1", "content": "c1", "media": "DVD-R", "copies": 4, "arrival_s": 0.0}
    ]
    bounds = lower_bounds(parse_workload(doc))
    dvd = 90 + 650000000 / 21600000
    assert bounds["lp"] == pytest.approx(4 * dvd / 2)
    assert bounds["work"] == pytest.approx(4 * dvd / 4)
