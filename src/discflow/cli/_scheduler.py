"""`discflow simulate` and `discflow bench workload`: the scheduler's commands.

File I/O for the pure scheduler lives here: reading and decoding workload
files (with errors naming the file and field) and writing plans/workloads.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from discflow.cli import app
from discflow.errors import InvalidInput
from discflow.scheduler import (
    POLICIES,
    WorkloadError,
    generate_workload,
    parse_workload,
    simulate,
    summarize,
    workload_to_dict,
)


class PolicyName(StrEnum):
    DISCFLOW = "discflow"
    FIRST_AVAILABLE = "first-available"
    ROUND_ROBIN = "round-robin"


class ArrivalName(StrEnum):
    BATCH = "batch"
    POISSON = "poisson"


bench_app = typer.Typer(name="bench", help="Benchmark harness.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _write_json(doc: Any, out: Path | None) -> None:
    text = json.dumps(doc, indent=None if out is None else 1)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror}; check the folder exists and is writable")


def load_workload_file(path: Path) -> Any:
    """Read and decode a workload file, translating OS and JSON errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read workload file {path}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc


@app.command("simulate")
def simulate_cmd(
    workload: Path = typer.Argument(..., help="Workload JSON (see workload-schema.md)."),
    policy: PolicyName = typer.Option(PolicyName.DISCFLOW, "--policy", help="Policy to replay."),
    out: Path | None = typer.Option(None, "--out", help="Write the plan JSON here."),
) -> None:
    """Replay WORKLOAD through a policy; print the JSON summary."""
    try:
        doc = load_workload_file(workload)
    except InvalidInput as exc:
        _fail(str(exc))
        return
    try:
        w = parse_workload(doc)
    except WorkloadError as exc:
        _fail(f"{workload}: {exc}")
        return
    result = simulate(w, POLICIES[policy.value], name=policy.value)
    if out is not None:
        _write_json(result.plan, out)
    _write_json(summarize(w, result), None)


@bench_app.command("workload")
def bench_workload(
    requests: int = typer.Option(..., "--requests", min=1, help="Number of requests."),
    titles: int = typer.Option(..., "--titles", min=1, help="Catalog size."),
    devices: int = typer.Option(..., "--devices", min=1, help="Number of devices."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same workload)."),
    arrival: ArrivalName = typer.Option(ArrivalName.BATCH, "--arrival"),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Generate a realistic workload (Zipf titles, mixed media, varied devices)."""
    w = generate_workload(
        requests=requests, titles=titles, devices=devices, seed=seed, arrival=arrival.value
    )
    _write_json(workload_to_dict(w), out)
