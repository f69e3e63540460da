"""``docs/architecture.md``'s diagrams are generated from the code and must be current."""

from __future__ import annotations

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "architecture_doc.py"


def test_the_doc_shows_what_the_code_does() -> None:
    generator = runpy.run_path(str(SCRIPT))
    doc = generator["DOC"].read_text()
    assert generator["update"](doc) == doc, "run .venv/bin/python scripts/architecture_doc.py"
    # the blocks hold the real tables: a move that exists only in the code shows up here
    assert "    lost --> done" in doc and "    pending --> queued" in doc
    assert "apply_agent_report" in doc


def test_a_step_that_no_longer_exists_is_caught() -> None:
    generator = runpy.run_path(str(SCRIPT))
    try:
        generator["resolve"]("discflow.store:no_such_function")
    except AttributeError:
        return
    raise AssertionError("a renamed function would go unnoticed")
