"""Fingerprint the ``discflow`` plans of the scheduler bench, to check a speed-up changes none.

Run: ``.venv/bin/python bench/plan_hash.py > before.txt`` at the base and again
after a change, then ``diff`` the two (ignore the last column, planner CPU).
One line per case and seed: every ``--quick`` case of ``bench/scheduler.py``
at seeds 1-5 (the ``gen-*`` 10,000-request cases at seeds 1-3), with a hash of
the plan document (downloads, evictions, burns, reloads, refusals), of every
request's completion time and of the planning rounds, then the rounds.
"""

from __future__ import annotations

import hashlib
import json

from discflow.scheduler import POLICIES, simulate
from scheduler import cases  # bench/scheduler.py, beside this file


def main() -> None:
    for name, _kind, make in cases(quick=True):
        seeds = range(1, 4) if name.startswith("gen-") else range(1, 6)
        for seed in seeds:
            result = simulate(make(seed), POLICIES["discflow"], name="discflow")
            doc = {
                "plan": result.plan,
                "completion": sorted(result.completion_s.items()),
                "rounds": result.planning_rounds,
            }
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
            print(name, seed, digest, result.planning_rounds, round(result.planner_cpu_s, 3))


if __name__ == "__main__":
    main()
