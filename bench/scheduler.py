"""Scheduler benchmark: every policy on fleets unlike the project's own generator.

Run: ``.venv/bin/python bench/scheduler.py [--quick] [--seeds N] [--first-seed K]
[--only NAME] [--out results.json] [--markdown]``.

Each case runs with ``--seeds`` seeds (default 3): mixed-media fleets (CD-only
and BD-only devices beside CD/DVD/DL/BD ones), slow links (10-100 Mbit/s)
with scarce blanks (5-40 loaded, reloads of 100 after 900 s), small caches,
online (Poisson, 85% load) with slow links and with 10% rush orders, and the
project generator's own 10k x 200 fleet. The scale cases (Poisson 50k and
100k requests x 200 devices) run ``discflow`` only, for its planner CPU.
Every plan of up to 2,000 requests is checked with ``validate_plan``.
The planner runs compiled when ``make venv`` built it (``planner_build`` in
the output); ``DISCFLOW_PURE=1`` runs its source: the same plans, more CPU.

Prints one JSON object: a row per (case, seed, policy) with the summary
fields, then the issue's targets checked per case (worst seed), each with
its margin. ``--markdown`` prints the tables for BENCHMARKS.md instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from discflow.scheduler import (
    BUILD,
    POLICIES,
    Recipe,
    Workload,
    generate_fleet,
    generate_workload,
    lower_bounds,
    percentile,
    simulate,
    summarize,
    validate_plan,
)

MB = 1_000_000
GB = 1_000_000_000
VALIDATE_UP_TO = 2_000  # the validator is exact but slow (minutes) on 10k-request plans
GEN_MODELS = ("cd-dvd", "cd-only", "slow-cd-dvd", "dvd-only") * 2
MIXED_MODELS = (
    "cd-dvd",
    "cd-only",
    "dvd-dl-bd",
    "bd-only",
    "slow-cd-dvd",
    "dvd-only",
    "dvd-dl-bd",
    "cd-only",
)
MIXED_MEDIA = (("CD-R", 0.45), ("DVD-R", 0.35), ("DVD+R-DL", 0.1), ("BD-R", 0.1))
SLOW = (1.25 * MB, 12.5 * MB)  # 10-100 Mbit/s

Case = tuple[str, str, Callable[[int], Workload]]  # name, kind (batch/online/scale), maker


def _recipe(recipe: Recipe) -> Callable[[int], Workload]:
    return lambda seed: generate_fleet(recipe, seed=seed)


def _generator(requests: int, devices: int, arrival: str) -> Callable[[int], Workload]:
    return lambda seed: generate_workload(
        requests=requests,
        titles=requests // 10,
        devices=devices,
        seed=seed,
        arrival=arrival,  # type: ignore[arg-type]
    )


def cases(quick: bool) -> list[Case]:
    out: list[Case] = [
        ("mixed-batch", "batch", _recipe(Recipe(2000, 200, MIXED_MODELS, media_mix=MIXED_MEDIA))),
        (
            "small-cache-batch",
            "batch",
            _recipe(Recipe(2000, 200, GEN_MODELS, cache_bytes=(1 * GB, 12 * GB))),
        ),
        (
            "slow-scarce-batch",
            "scarce",
            _recipe(Recipe(2000, 200, GEN_MODELS, link_Bps=SLOW, loaded=(5, 40))),
        ),
        ("gen-batch-10000x200", "batch", _generator(10_000, 200, "batch")),
        (
            "slow-online",
            "online",
            _recipe(Recipe(2000, 200, GEN_MODELS, arrival="poisson", link_Bps=SLOW)),
        ),
        (
            "mixed-online-rush",
            "online",
            _recipe(
                Recipe(
                    2000,
                    200,
                    MIXED_MODELS,
                    arrival="poisson",
                    media_mix=MIXED_MEDIA,
                    rush_share=0.1,
                )
            ),
        ),
        ("gen-poisson-10000x200", "online", _generator(10_000, 200, "poisson")),
    ]
    if not quick:
        out.append(("poisson-50000x200", "scale", _generator(50_000, 200, "poisson")))
        out.append(("poisson-100000x200", "scale", _generator(100_000, 200, "poisson")))
    return out


def _rush_waits(w: Workload, waits: dict[str, float]) -> dict[str, float]:
    priority = {r.id: r.priority.value for r in w.requests}
    out: dict[str, float] = {}
    for prio in ("rush", "normal"):
        ws = sorted(v for rid, v in waits.items() if priority[rid] == prio)
        if ws:
            out[f"{prio}_p99_wait_s"] = round(percentile(ws, 0.99), 1)
            out[f"{prio}_max_wait_s"] = round(ws[-1], 1)
    return out


def run_case(
    name: str, kind: str, make: Callable[[int], Workload], seed: int
) -> list[dict[str, Any]]:
    w = make(seed)
    bounds = lower_bounds(w)
    rows = []
    policies = ["discflow"] if kind == "scale" else list(POLICIES)
    if len(w.requests) > VALIDATE_UP_TO:
        policies = [p for p in policies if p != "round-robin"]  # ~10 min a run, no target
    for policy in policies:
        started = time.perf_counter()
        result = simulate(w, POLICIES[policy], name=policy)
        row: dict[str, Any] = {
            "case": name,
            "kind": kind,
            "seed": seed,
            **summarize(w, result, bounds=bounds, extended=True),
            "planning_rounds": result.planning_rounds,
            "wall_s": round(time.perf_counter() - started, 1),
        }
        row.update(_rush_waits(w, result.wait_s))
        if len(w.requests) <= VALIDATE_UP_TO:
            violations = validate_plan(w, result.plan)
            row["valid"] = not violations
            row["violations"] = violations[:3]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _check(case: str, target: str, values: list[float], limit: float) -> dict[str, Any]:
    worst = max(values)
    return {
        "case": case,
        "target": f"{target} <= {limit}",
        "worst_seed": round(worst, 4),
        "per_seed": [round(v, 4) for v in values],
        "met": worst <= limit,
        "margin": f"{(worst / limit - 1) * 100:+.1f}%",
    }


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {(r["case"], r["seed"], r["policy"]): r for r in rows}
    out: list[dict[str, Any]] = []
    for case, kind in dict.fromkeys((r["case"], r["kind"]) for r in rows):
        seeds = sorted({r["seed"] for r in rows if r["case"] == case})
        mine = [by[(case, s, "discflow")] for s in seeds]
        if kind == "scale":
            out.append(_check(case, "planner_cpu_s", [r["planner_cpu_s"] for r in mine], 10.0))
            continue
        fa = [by[(case, s, "first-available")] for s in seeds]
        if kind in ("batch", "scarce"):
            limit = 1.05 if kind == "batch" else 1.10
            out.append(_check(case, "makespan_ratio", [r["makespan_ratio"] for r in mine], limit))
            out.append(
                _check(
                    case,
                    "download_bytes_vs_first_available",
                    [
                        m["download_bytes"] / max(1, f["download_bytes"])
                        for m, f in zip(mine, fa, strict=True)
                    ],
                    0.20,
                )
            )
        else:
            out.append(
                _check(
                    case,
                    "mean_completion_vs_first_available",
                    [
                        m["mean_completion_s"] / f["mean_completion_s"]
                        for m, f in zip(mine, fa, strict=True)
                    ],
                    0.50,
                )
            )
            out.append(
                _check(
                    case,
                    "p99_completion_vs_first_available",
                    [
                        m["p99_completion_s"] / f["p99_completion_s"]
                        for m, f in zip(mine, fa, strict=True)
                    ],
                    1.0,
                )
            )
    half = [r for r in rows if r["case"] == "poisson-50000x200"]
    full = [r for r in rows if r["case"] == "poisson-100000x200"]
    if half and full:
        growth = [f["planner_cpu_s"] / h["planner_cpu_s"] for h, f in zip(half, full, strict=True)]
        out.append(_check("poisson 50k -> 100k x200", "planner_cpu_s growth", growth, 2.2))
    return out


def markdown(doc: dict[str, Any]) -> str:
    cols = (
        "makespan_ratio",
        "mean_completion_s",
        "p95_completion_s",
        "p99_completion_s",
        "max_completion_s",
        "p99_wait_s",
        "max_wait_s",
        "download_ratio",
        "reloads",
        "planner_cpu_s",
    )
    lines = [
        f"Planner build: {doc['planner_build']}.",
        "",
        "| case | policy | seeds | makespan / LB | mean s | p95 s | p99 s | max s | p99 wait s"
        " | max wait s | download / bound | reloads | planner CPU s | valid |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in doc["rows"]:
        groups.setdefault((r["case"], r["policy"]), []).append(r)
    for (case, policy), rs in groups.items():
        cells = []
        for c in cols:
            mean = sum(r[c] for r in rs) / len(rs)
            cells.append(
                f"{mean:.3f}"
                if c in ("makespan_ratio", "download_ratio")
                else f"{mean:,.1f}"
                if c == "planner_cpu_s"
                else f"{mean:,.0f}"
            )
        valid = "n/a" if "valid" not in rs[0] else ("yes" if all(r["valid"] for r in rs) else "NO")
        lines.append(f"| {case} | {policy} | {len(rs)} | " + " | ".join(cells) + f" | {valid} |")
    lines += ["", "| case | target | worst seed | per seed | met |", "|---|---|---:|---|---|"]
    for t in doc["targets"]:
        seeds = ", ".join(str(v) for v in t["per_seed"])
        met = "yes" if t["met"] else "no"
        lines.append(
            f"| {t['case']} | {t['target']} | {t['worst_seed']} | {seeds} | {met} ({t['margin']}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 50k/100k scale cases")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per case (default 3)")
    parser.add_argument(
        "--first-seed", type=int, default=1, help="first seed (default 1; e.g. 4 to check 4-5)"
    )
    parser.add_argument("--only", help="run only cases whose name contains this")
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--markdown", action="store_true", help="print the BENCHMARKS.md tables")
    args = parser.parse_args()
    started = time.perf_counter()
    cpu = time.process_time()
    rows = []
    for name, kind, make in cases(args.quick):
        if args.only and args.only not in name:
            continue
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows.extend(run_case(name, kind, make, seed))
    doc = {
        # "compiled" (mypyc, what `make venv` builds) or "source" (DISCFLOW_PURE=1, or
        # no build): same plans, different planner CPU (BENCHMARKS.md).
        "planner_build": BUILD,
        "seeds": list(range(args.first_seed, args.first_seed + args.seeds)),
        "rows": rows,
        "targets": targets(rows),
        "total_wall_s": round(time.perf_counter() - started, 1),
        "total_cpu_s": round(time.process_time() - cpu, 1),
    }
    text = json.dumps(doc, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(markdown(doc) if args.markdown else text)


if __name__ == "__main__":
    main()
