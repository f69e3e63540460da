"""Least download bytes of any plan that ends by T, for one batch case of the scheduler bench.

Run: ``.venv/bin/python bench/download_floor.py CASE SEED [T/bound ...]`` (default 1.0
1.03 1.05). A MIP relaxation (HiGHS): copies of each (content, media) group per
device are fractional, a fetch per (content, device) not held at t=0 is binary, and
every device's burn work fits its drives x T; download times, stalls, blanks and
cache room are ignored, so no real plan ending by T downloads less. Prints, per T,
the solver status, the bytes, and the bytes over first-available's and over the
schema's download bound (60 s time limit per solve, relative gap 1e-4).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from discflow.scheduler import (
    POLICIES,
    Workload,
    download_lower_bound,
    lower_bounds,
    simulate,
)
from scheduler import cases  # bench/scheduler.py, beside this file


def floor_bytes(w: Workload, end_s: float) -> tuple[int, float]:
    """(HiGHS status, least bytes) of the relaxation for makespan ``end_s``."""
    groups: dict[tuple[str, str], int] = {}
    for r in w.requests:
        groups[(r.content, r.media)] = groups.get((r.content, r.media), 0) + r.copies
    keys = list(groups)
    xs = [
        (gi, di)
        for gi, (c, m) in enumerate(keys)
        for di, d in enumerate(w.devices)
        if m in d.media and w.contents[c] <= d.cache_bytes
    ]
    fetch: dict[tuple[str, int], int] = {}
    for gi, di in xs:
        c = keys[gi][0]
        if c not in w.devices[di].cached and (c, di) not in fetch:
            fetch[(c, di)] = len(xs) + len(fetch)
    n = len(xs) + len(fetch)
    a = lil_matrix((len(keys) + len(w.devices) + len(xs), n))
    low: list[float] = []
    high: list[float] = []
    for j, (gi, di) in enumerate(xs):
        c, m = keys[gi]
        spec = w.devices[di].media[m]
        a[gi, j] = 1.0  # every copy of the group somewhere
        a[len(keys) + di, j] = spec.overhead_s + w.contents[c] / spec.write_Bps
        if (c, di) in fetch:  # copies only where the content is held or fetched
            a[len(keys) + len(w.devices) + j, j] = 1.0
            a[len(keys) + len(w.devices) + j, fetch[(c, di)]] = -groups[keys[gi]]
    low += [float(groups[k]) for k in keys]
    high += [float(groups[k]) for k in keys]
    low += [0.0] * len(w.devices)
    high += [d.drives * end_s for d in w.devices]
    low += [-np.inf] * len(xs)
    high += [0.0] * len(xs)
    cost = np.zeros(n)
    for (c, _), v in fetch.items():
        cost[v] = w.contents[c]
    integrality = np.zeros(n)
    integrality[len(xs) :] = 1
    res = milp(
        cost,
        constraints=LinearConstraint(a.tocsr(), low, high),
        integrality=integrality,
        bounds=Bounds(0, np.r_[np.full(len(xs), np.inf), np.ones(len(fetch))]),
        options={"time_limit": 60.0, "mip_rel_gap": 1e-4, "disp": False},
    )
    return res.status, float(res.fun) if res.x is not None else float("nan")


def main() -> None:
    case, seed = sys.argv[1], int(sys.argv[2])
    factors = [float(f) for f in sys.argv[3:]] or [1.0, 1.03, 1.05]
    w = {name: make for name, _kind, make in cases(quick=True)}[case](seed)
    bound = max(lower_bounds(w).values())
    first = simulate(w, POLICIES["first-available"], name="first-available")
    fa = sum(w.contents[d["content"]] for d in first.plan["downloads"])
    dl_bound = download_lower_bound(w)
    for f in factors:
        status, least = floor_bytes(w, f * bound)
        print(
            f"{case} seed {seed} T={f}x bound: status {status}, {least / 1e12:.4f} TB,"
            f" {least / fa:.4f}x first-available, {least / dl_bound:.4f}x download bound"
            f" (goal 0.2x first-available = {0.2 * fa / dl_bound:.4f}x the bound)"
        )


if __name__ == "__main__":
    main()
