"""Hand-offs to parked devices end within a round (``discflow.scheduler._handoff``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# gen-poisson-10000x200 seed 4 (bench/scheduler.py) with a 15 s hand-off gain: before
# ``Waiter.handed_to``, five devices handed two requests round in a cycle at t = 1,959 s
# (each woken device passed them over and parked again), and the round never ended.
# Run from source (``DISCFLOW_PURE=1``) so the module constant can be changed.
_RUN = """
import json
import discflow.scheduler._handoff as handoff
from discflow.scheduler import POLICIES, generate_workload, simulate
handoff.HANDOFF_GAIN_S = 15.0
w = generate_workload(requests=10_000, titles=1_000, devices=200, seed=4, arrival="poisson")
r = simulate(w, POLICIES["discflow"], name="discflow")
print(json.dumps([len(r.completion_s), len(w.requests)]))
"""


def test_a_request_is_not_handed_round_a_cycle_of_devices_for_ever() -> None:
    # About 5 s here; the code before never returned (subprocess.TimeoutExpired).
    env = {**os.environ, "DISCFLOW_PURE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _RUN], env=env, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr[-2000:]
    done, requests = json.loads(out.stdout.strip().splitlines()[-1])
    assert done == requests  # every request completed
