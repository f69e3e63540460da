"""The CLI refuses bad input with exit code 2 and a message saying what to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from discflow.settings import Settings


def _cli(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DISCFLOW_DATA_DIR": str(settings.data_dir),
        "DISCFLOW_DATABASE_URL": settings.resolved_database_url(),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "discflow", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
    )


def test_content_add_refuses_a_non_iso_file(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a disc image\n" * 10_000)
    done = _cli(["content", "add", str(junk), "--title", "Notes"], settings)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "notes.txt" in done.stderr
    assert _cli(["content", "list"], settings).stdout.count("Notes") == 0


def test_content_add_refuses_an_unreadable_file(settings: Settings, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.txt").write_text("fine")
    secret = tree / "secret.txt"
    secret.write_text("hidden")
    secret.chmod(0)
    try:
        if os.geteuid() == 0:
            # root reads anything: make the file unreadable another way, a dangling symlink
            secret.chmod(0o644)
            secret.unlink()
            (tree / "secret.txt").symlink_to("/nonexistent/elsewhere")
        done = _cli(["content", "add", str(tree), "--title", "Tree"], settings)
    finally:
        if secret.exists():
            secret.chmod(0o644)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "secret.txt" in done.stderr


def test_content_add_then_order_create(settings: Settings, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("a")
    added = _cli(["content", "add", str(tree), "--title", "Tiny", "--media", "CD-R"], settings)
    assert added.returncode == 0, added.stderr
    content_id = added.stdout.strip().splitlines()[-1]
    ship_to = tmp_path / "ship.json"
    ship_to.write_text(
        json.dumps(
            {
                "name": "Ann",
                "lines": ["1 Main St"],
                "city": "Austin",
                "region": "TX",
                "postal_code": "78701",
                "country": "US",
            }
        )
    )
    made = _cli(
        [
            "order",
            "create",
            "--content",
            content_id,
            "--media",
            "CD-R",
            "--copies",
            "2",
            "--ship-to",
            str(ship_to),
            "--user",
            "ann",
        ],
        settings,
    )
    assert made.returncode == 0, made.stderr
    order_id = made.stdout.strip().splitlines()[-1]
    assert order_id.startswith("ORD-")
    shown = _cli(["order", "show", order_id], settings)
    assert "queued" in shown.stdout
    odd = _cli(["order", "hold", order_id, "--reason", "pay\u2028first"], settings)
    assert odd.returncode == 2 and "U+2028" in odd.stderr
    held = _cli(["order", "hold", order_id, "--reason", "awaiting payment"], settings)
    assert held.returncode == 0 and "held" in held.stdout, held.stderr
    again = _cli(["order", "hold", order_id], settings)
    assert again.returncode != 0 and "only queued requests can be held" in again.stderr
    released = _cli(["order", "release", order_id], settings)
    assert released.returncode == 0 and "queued" in released.stdout, released.stderr
    bad = _cli(
        [
            "order",
            "create",
            "--content",
            content_id,
            "--media",
            "CD-R",
            "--copies",
            "0",
            "--ship-to",
            str(ship_to),
            "--user",
            "ann",
        ],
        settings,
    )
    assert bad.returncode == 2 and "copies must be between 1 and 1000" in bad.stderr
    ship_to.write_text(json.dumps({"name": "Ann"}))
    bad = _cli(
        [
            "order",
            "create",
            "--content",
            content_id,
            "--media",
            "CD-R",
            "--copies",
            "1",
            "--ship-to",
            str(ship_to),
            "--user",
            "ann",
        ],
        settings,
    )
    assert bad.returncode == 2 and "lines" in bad.stderr
