"""Write the generated parts of ``docs/architecture.md`` from the code itself.

    .venv/bin/python scripts/architecture_doc.py          # rewrite the blocks
    .venv/bin/python scripts/architecture_doc.py --check  # exit 1 if the doc is stale

Each block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``:
the state diagrams come from the lifecycles' transition tables
(``Lifecycle.mermaid()``), and the request's path from the functions named in
``PATH`` below, each resolved by import, so a rename or a move breaks
``tests/structure/test_architecture_doc.py`` until the doc follows.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path

from discflow.domain import (
    COPY_LIFECYCLE,
    DISPATCH_LIFECYCLE,
    JOB_LIFECYCLE,
    PRINT_LIFECYCLE,
    REQUEST_LIFECYCLE,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

_DISPATCHER = "discflow.dispatcher"
# (from, to, what happens, the function that does it), top-down and back
PATH: tuple[tuple[str, str, str, str], ...] = (
    ("Client", "API", "POST /api/v1/orders", "discflow.web.routes.orders:create_order"),
    ("API", "Store", "order + requests + events, one transaction", "discflow.store:place_order"),
    ("Store", "Dispatcher", "task log grew / wake()", "discflow.dispatcher:Dispatcher.wake"),
    (
        "Dispatcher",
        "Dispatcher",
        "snapshot -> plan",
        "discflow.dispatcher._planner:Planner.plan_and_assign",
    ),
    ("Dispatcher", "Store", "job row (pending), request assigned", "discflow.store:create_job"),
    ("Store", "Dispatcher", "the job as a command", "discflow.store:next_command"),
    ("Dispatcher", "Agent", "POST /v1/jobs (JobCreate)", "discflow.dispatcher:AgentClient.submit"),
    ("Agent", "Driver", "write and verify discs", "discflow.agent.drivers:Driver.submit"),
    (
        "Dispatcher",
        "Agent",
        "GET /v1/jobs/{id} (JobOut)",
        "discflow.dispatcher._follow:follow_jobs",
    ),
    (
        "Dispatcher",
        "Store",
        "apply_agent_report: job mirrored",
        "discflow.store:apply_agent_report",
    ),
    ("Store", "Store", "request settled (lifecycle checked)", "discflow.store:settle_request"),
    ("Store", "Store", "label queued when done", "discflow.store:queue_label"),
    ("Dispatcher", "Printer", "pending labels printed", "discflow.dispatcher:print_pending"),
)

LIFECYCLES: dict[str, Callable[[], str]] = {
    "request-lifecycle": REQUEST_LIFECYCLE.mermaid,
    "dispatch-lifecycle": DISPATCH_LIFECYCLE.mermaid,
    "agent-job-lifecycle": JOB_LIFECYCLE.mermaid,
    "copy-lifecycle": COPY_LIFECYCLE.mermaid,
    "label-lifecycle": PRINT_LIFECYCLE.mermaid,
}


def resolve(target: str) -> object:
    """``module:attr.attr`` -> the object (raises if it no longer exists)."""
    module, _, dotted = target.partition(":")
    found: object = importlib.import_module(module)
    for part in dotted.split("."):
        found = getattr(found, part)
    return found


def request_path() -> str:
    lines = ["sequenceDiagram"]
    for actor in ("Client", "API", "Store", "Dispatcher", "Agent", "Driver", "Printer"):
        lines.append(f"    participant {actor}")
    for source, target, what, where in PATH:
        thing = resolve(where)
        name = getattr(thing, "__qualname__", where)
        arrow = "-->>" if (source, target) in {("Store", "Dispatcher")} else "->>"
        lines.append(f"    {source}{arrow}{target}: {what} ({name})")
    return "\n".join(lines)


def blocks() -> dict[str, str]:
    made = {name: render() for name, render in LIFECYCLES.items()}
    made["request-path"] = request_path()
    return {name: f"```mermaid\n{body}\n```" for name, body in made.items()}


def update(text: str) -> str:
    for name, body in blocks().items():
        tag = re.escape(name)
        pattern = re.compile(
            rf"(<!-- generated: {tag} -->\n)(?:.*?\n)?(<!-- end: {tag} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{DOC}: no block {name!r}; add its two marker lines")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the doc is stale")
    args = parser.parse_args()
    current = DOC.read_text()
    wanted = update(current)
    if args.check:
        if wanted != current:
            sys.exit(f"{DOC} is stale: run scripts/architecture_doc.py")
        return
    DOC.write_text(wanted)


if __name__ == "__main__":
    main()
