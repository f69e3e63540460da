"""The compiled planner runs only when it was built from the source on disk, and
plans exactly as the source does (``discflow.scheduler._accel``)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from discflow.scheduler import BUILD, POLICIES, generate_workload, simulate
from discflow.scheduler._accel import BUILD_MANIFEST, COMPILED, stale_modules

_DIGEST = """
import hashlib, json, sys
import discflow.scheduler as scheduler
from discflow.scheduler import POLICIES, generate_workload, simulate
import discflow.scheduler._discflow as planner_module
runs = []
for arrival, seed in (("poisson", 4), ("batch", 5)):
    w = generate_workload(requests=400, titles=40, devices=12, seed=seed, arrival=arrival)
    r = simulate(w, POLICIES["discflow"], name="discflow")
    runs.append([r.plan, sorted(r.completion_s.items()), r.planning_rounds])
digest = hashlib.sha256(json.dumps(runs, sort_keys=True).encode()).hexdigest()
print(json.dumps([scheduler.BUILD, planner_module.__file__, digest]))
"""


def _run(pure: bool) -> tuple[str, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCFLOW_PURE"}
    if pure:
        env["DISCFLOW_PURE"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True
    )
    build, path, digest = json.loads(out.stdout.strip().splitlines()[-1])
    return build, path, digest


def _package(tmp_path: Path, source: str, manifest: dict[str, str] | None) -> Path:
    tmp_path.mkdir()
    (tmp_path / "_wake.py").write_text(source)
    (tmp_path / f"_wake{EXTENSION_SUFFIXES[0]}").write_bytes(b"not really a build")
    if manifest is not None:
        (tmp_path / BUILD_MANIFEST).write_text(json.dumps(manifest))
    return tmp_path


def test_a_build_is_used_only_for_the_source_it_was_built_from(tmp_path: Path) -> None:
    source = "x = 1\n"
    built = {"_wake": hashlib.sha256(source.encode()).hexdigest()}
    assert "_wake" in COMPILED
    assert stale_modules(_package(tmp_path / "same", source, built)) == []
    assert stale_modules(_package(tmp_path / "edited", "x = 2\n", built)) == ["_wake"]
    assert stale_modules(_package(tmp_path / "no-manifest", source, None)) == ["_wake"]


def test_pure_runs_the_source() -> None:
    build, path, _ = _run(pure=True)
    assert (build, Path(path).name) == ("source", "_discflow.py")


@pytest.mark.skipif(BUILD != "compiled", reason="the planner is not compiled here")
def test_compiled_plans_are_the_sources() -> None:
    compiled, source = _run(pure=False), _run(pure=True)
    assert compiled[0] == "compiled" and not compiled[1].endswith(".py")
    assert compiled[2] == source[2]


def test_the_digest_run_plans_something() -> None:
    # The comparison above means something only if the runs do work.
    w = generate_workload(requests=400, titles=40, devices=12, seed=4, arrival="poisson")
    r = simulate(w, POLICIES["discflow"], name="discflow")
    assert len(r.completion_s) == 400 and r.planning_rounds > 100
