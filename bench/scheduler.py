"""Scheduler benchmark: every policy on a fixed set of generated workloads.

Run: ``.venv/bin/python bench/scheduler.py [--quick] [--out results.json]``.
Prints one JSON object: a row per (workload, policy) with the schema's
summary fields, then the issue's targets checked on the ``discflow`` rows
(with the margin by which each is met or missed).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from typing import Any

from discflow.scheduler import (
    CACHE_POLICIES,
    POLICIES,
    Arrival,
    generate_workload,
    lower_bounds,
    plan_discflow,
    simulate,
    summarize,
    validate_plan,
)

SEED = 2026
VALIDATE_UP_TO = 10_000  # the validator is exact but slow on the largest plans


def _workloads(quick: bool) -> list[tuple[Arrival, int, int]]:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    out: list[tuple[Arrival, int, int]] = []
    for arrival in ("batch", "poisson"):
        for requests in sizes:
            for devices in (10, 200):
                out.append((arrival, requests, devices))  # type: ignore[arg-type]
    if not quick:
        out.append(("batch", 50_000, 200))  # for the doubling check
    return out


def _run(arrival: Arrival, requests: int, devices: int) -> list[dict[str, Any]]:
    w = generate_workload(
        requests=requests, titles=requests // 10, devices=devices, seed=SEED, arrival=arrival
    )
    bounds = lower_bounds(w)
    rows = []
    for name, policy in POLICIES.items():
        started = time.perf_counter()
        result = simulate(w, policy, name=name)
        row = {
            "workload": f"{arrival}-{requests}x{devices}",
            **summarize(w, result, bounds=bounds),
            "wall_s": round(time.perf_counter() - started, 1),
        }
        if requests <= VALIDATE_UP_TO:
            row["valid"] = validate_plan(w, result.plan) == []
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _cache_policies() -> list[dict[str, Any]]:
    rows = []
    for arrival in ("batch", "poisson"):
        w = generate_workload(
            requests=10_000, titles=1_000, devices=200, seed=SEED, arrival=arrival
        )
        bounds = lower_bounds(w)
        for cache in CACHE_POLICIES:
            policy = functools.partial(plan_discflow, cache_policy=cache)
            s = summarize(w, simulate(w, policy, name="discflow"), bounds=bounds)
            rows.append(
                {
                    "workload": f"{arrival}-10000x200",
                    "cache_policy": cache,
                    "mean_completion_s": s["mean_completion_s"],
                    "download_bytes": s["download_bytes"],
                    "download_ratio": s["download_ratio"],
                }
            )
    return rows


def _targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {(r["workload"], r["policy"]): r for r in rows}
    out: list[dict[str, Any]] = []
    for (wl, policy), r in by.items():
        if policy != "discflow":
            continue
        fa = by[(wl, "first-available")]
        checks = [
            (
                "mean_completion_vs_first_available",
                r["mean_completion_s"] / fa["mean_completion_s"],
                0.6,
            ),
        ]
        if r["download_lower_bound_bytes"] > 0:  # with a zero bound no ratio exists
            checks.append(("download_ratio", r["download_ratio"], 1.2))
        if wl.startswith("batch"):
            checks.append(("makespan_ratio", r["makespan_ratio"], 1.05))
        if wl.endswith("100000x200"):
            checks.append(("planner_cpu_s", r["planner_cpu_s"], 10.0))
        for name, value, limit in checks:
            out.append(
                {
                    "workload": wl,
                    "target": f"{name} <= {limit}",
                    "value": round(value, 4),
                    "met": value <= limit,
                    "margin": f"{(value / limit - 1) * 100:+.1f}%",
                }
            )
    half, full = by.get(("batch-50000x200", "discflow")), by.get(("batch-100000x200", "discflow"))
    if half and full:
        growth = full["planner_cpu_s"] / half["planner_cpu_s"]
        out.append(
            {
                "workload": "batch 50k -> 100k x200",
                "target": "planner_cpu_s growth <= 2.2",
                "value": round(growth, 3),
                "met": growth <= 2.2,
                "margin": f"{(growth / 2.2 - 1) * 100:+.1f}%",
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 100k workloads")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [row for spec in _workloads(args.quick) for row in _run(*spec)]
    doc = {
        "seed": SEED,
        "rows": rows,
        "cache_policies": _cache_policies(),
        "targets": _targets(rows),
        "total_wall_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
