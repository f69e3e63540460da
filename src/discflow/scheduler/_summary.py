# Lower bounds and the summary line of `discflow simulate`.
#
# Invariants: every bound is a true lower bound of any valid plan's makespan
# or download bytes (relaxations only drop constraints: the LP ignores cache
# sizes, arrivals and blanks, and merges identical devices exactly), so a
# ratio below 1 would reveal a bug in the simulator or validator.
"""Makespan and download lower bounds (incl. the LP relaxation) and summaries."""

from __future__ import annotations

import math
from typing import Any

from discflow.scheduler._simulate import SimResult
from discflow.scheduler._workload import DeviceSpec, Workload


def _placeable(w: Workload, content: str, media: str) -> list[DeviceSpec]:
    size = w.contents[content]
    if media not in w.media or size > w.media[media]:
        return []
    return [d for d in w.devices if media in d.media and size <= d.cache_bytes]


def _burn(d: DeviceSpec, media: str, size: int) -> float:
    s = d.media[media]
    return s.overhead_s + size / s.write_Bps


def lower_bounds(w: Workload) -> dict[str, float]:
    """The three makespan bounds of the schema: ``work``, ``request`` and ``lp``."""
    groups: dict[tuple[str, str], int] = {}
    last_arrival: dict[tuple[str, str], float] = {}
    for r in w.requests:
        key = (r.content, r.media)
        groups[key] = groups.get(key, 0) + r.copies
        last_arrival[key] = max(last_arrival.get(key, 0.0), r.arrival_s)
    request_bound = 0.0
    work = 0.0
    for key in list(groups):
        capable = _placeable(w, *key)
        if not capable:
            del groups[key]
            continue
        content, media = key
        size = w.contents[content]
        fastest = min(
            (0.0 if content in d.cached else size / d.link_Bps) + _burn(d, media, size)
            for d in capable
        )
        request_bound = max(request_bound, last_arrival[key] + fastest)
        work += groups[key] * min(_burn(d, media, size) for d in capable)
    drives = sum(d.drives for d in w.devices)
    return {
        "work": work / drives if drives else 0.0,
        "request": request_bound,
        "lp": _lp_bound(w, groups),
    }


def _lp_bound(w: Workload, groups: dict[tuple[str, str], int]) -> float:
    """Least T with every group's copies spread fractionally over capable drives."""
    if not groups:
        return 0.0
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    # Identical devices merge exactly (their drives add up); equal-size groups
    # of one media merge exactly too. Dropping the cache-size test relaxes.
    classes: dict[tuple[tuple[str, float, float], ...], int] = {}
    for d in w.devices:
        key = tuple(sorted((m, s.write_Bps, s.overhead_s) for m, s in d.media.items()))
        classes[key] = classes.get(key, 0) + d.drives
    merged: dict[tuple[str, int], int] = {}
    for (c, m), copies in groups.items():
        merged[(m, w.contents[c])] = merged.get((m, w.contents[c]), 0) + copies
    cls = list(classes.items())
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    eq_rows: list[int] = []
    eq_cols: list[int] = []
    rhs: list[float] = []
    nvar = 1  # variable 0 is T
    for g, ((m, size), copies) in enumerate(merged.items()):
        rhs.append(float(copies))
        for k, (spec, _) in enumerate(cls):
            speeds = {name: (wb, oh) for name, wb, oh in spec}
            if m not in speeds:
                continue
            wb, oh = speeds[m]
            rows.append(k)
            cols.append(nvar)
            vals.append(oh + size / wb)
            eq_rows.append(g)
            eq_cols.append(nvar)
            nvar += 1
    for k, (_, ndrives) in enumerate(cls):
        rows.append(k)
        cols.append(0)
        vals.append(-float(ndrives))
    a_ub = coo_matrix((vals, (rows, cols)), shape=(len(cls), nvar)).tocsr()
    a_eq = coo_matrix(
        (np.ones(len(eq_rows)), (eq_rows, eq_cols)), shape=(len(merged), nvar)
    ).tocsr()
    cost = np.zeros(nvar)
    cost[0] = 1.0
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(len(cls)),
        A_eq=a_eq,
        b_eq=np.array(rhs),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        return 0.0
    return float(res.x[0])


def download_lower_bound(w: Workload) -> int:
    """Bytes of distinct requested contents that no capable device holds at time 0."""
    needed: set[str] = set()
    held: set[str] = set()
    for r in w.requests:
        capable = _placeable(w, r.content, r.media)
        if not capable:
            continue
        needed.add(r.content)
        if any(r.content in d.cached for d in capable):
            held.add(r.content)
    return sum(w.contents[c] for c in needed - held)


def summarize(
    w: Workload,
    result: SimResult,
    *,
    bounds: dict[str, float] | None = None,
    extended: bool = False,
) -> dict[str, Any]:
    """The schema's summary object for one simulated run.

    ``bounds`` may pass ``lower_bounds(w)`` computed once for several policies.
    ``extended`` adds the tail figures the benchmark reports (p99 and max
    completion, mean/p99/max wait before the first burn, reloads); without it
    the keys are exactly the schema's.
    """
    plan = result.plan
    lb = max((bounds if bounds is not None else lower_bounds(w)).values())
    makespan = max((b["end_s"] for b in plan["burns"]), default=0.0)
    completions = sorted(result.completion_s.values())
    waits = sorted(result.wait_s.values())
    dl_bytes = sum(w.contents[d["content"]] for d in plan["downloads"])
    dl_bound = download_lower_bound(w)
    summary: dict[str, Any] = {
        "policy": plan["policy"],
        "requests": len(w.requests),
        "copies": sum(r.copies for r in w.requests),
        "unplaceable": len(plan["unplaceable"]),
        "makespan_s": round(makespan, 3),
        "lower_bound_s": round(lb, 3),
        "makespan_ratio": round(makespan / lb, 4) if lb > 0 else 0.0,
        "mean_completion_s": round(_mean(completions), 3),
        "p95_completion_s": round(percentile(completions, 0.95), 3),
        "download_bytes": dl_bytes,
        "download_lower_bound_bytes": dl_bound,
        "download_ratio": round(dl_bytes / dl_bound, 4) if dl_bound > 0 else 0.0,
        "planner_cpu_s": round(result.planner_cpu_s, 3),
    }
    if extended:
        summary.update(
            {
                "p99_completion_s": round(percentile(completions, 0.99), 3),
                "max_completion_s": round(completions[-1] if completions else 0.0, 3),
                "mean_wait_s": round(_mean(waits), 3),
                "p99_wait_s": round(percentile(waits, 0.99), 3),
                "max_wait_s": round(waits[-1] if waits else 0.0, 3),
                "reloads": len(plan["reloads"]),
            }
        )
    return summary


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of an ascending list (0 for an empty one)."""
    return ordered[math.ceil(q * len(ordered)) - 1] if ordered else 0.0
