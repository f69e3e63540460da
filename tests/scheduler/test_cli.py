"""`discflow simulate` and `discflow bench workload` on real files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from discflow.cli import _register, app
from discflow.scheduler import parse_workload, validate_plan

from .builders import workload_doc

_register()
runner = CliRunner()


def test_bench_workload_then_simulate_every_policy(tmp_path: Path) -> None:
    wl = tmp_path / "w.json"
    res = runner.invoke(
        app,
        [
            "bench",
            "workload",
            "--requests",
            "400",
            "--titles",
            "40",
            "--devices",
            "8",
            "--seed",
            "5",
            "--arrival",
            "batch",
            "--out",
            str(wl),
        ],
    )
    assert res.exit_code == 0, res.output
    workload = parse_workload(json.loads(wl.read_text()))
    assert len(workload.requests) == 400
    rows = {}
    for policy in ("discflow", "first-available", "round-robin"):
        plan_file = tmp_path / f"{policy}.json"
        res = runner.invoke(app, ["simulate", str(wl), "--policy", policy, "--out", str(plan_file)])
        assert res.exit_code == 0, res.output
        summary = json.loads(res.stdout)
        assert summary["policy"] == policy
        assert summary["requests"] == 400
        assert summary["makespan_ratio"] >= 1.0
        plan = json.loads(plan_file.read_text())
        assert validate_plan(workload, plan) == []
        rows[policy] = summary
    for baseline in ("first-available", "round-robin"):
        assert rows["discflow"]["download_bytes"] < rows[baseline]["download_bytes"]
        assert rows["discflow"]["mean_completion_s"] < rows[baseline]["mean_completion_s"]


def test_simulate_prints_the_schema_summary_keys(tmp_path: Path) -> None:
    wl = tmp_path / "w.json"
    wl.write_text(json.dumps(workload_doc()))
    res = runner.invoke(app, ["simulate", str(wl)])
    assert res.exit_code == 0, res.output
    assert list(json.loads(res.stdout)) == [
        "policy",
        "requests",
        "copies",
        "unplaceable",
        "makespan_s",
        "lower_bound_s",
        "makespan_ratio",
        "mean_completion_s",
        "p95_completion_s",
        "download_bytes",
        "download_lower_bound_bytes",
        "download_ratio",
        "planner_cpu_s",
    ]


def test_bad_workload_file_says_which_field_is_wrong(tmp_path: Path) -> None:
    doc = workload_doc()
    doc["devices"][0]["drives"] = 0
    wl = tmp_path / "bad.json"
    wl.write_text(json.dumps(doc))
    res = runner.invoke(app, ["simulate", str(wl)])
    assert res.exit_code == 2
    assert "workload.devices[0].drives: expected an integer >= 1, got 0" in res.output


def test_invalid_json_and_missing_file_are_explained(tmp_path: Path) -> None:
    wl = tmp_path / "broken.json"
    wl.write_text('{"media": ')
    res = runner.invoke(app, ["simulate", str(wl)])
    assert res.exit_code == 2
    assert "is not valid JSON: line 1" in res.output
    res = runner.invoke(app, ["simulate", str(tmp_path / "absent.json")])
    assert res.exit_code == 2
    assert "cannot read workload file" in res.output
