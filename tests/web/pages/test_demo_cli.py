"""`discflow demo`: a taken port is said before anything starts; the banner keeps
each secret whole on its line; a restart's tokens replace the last run's."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from discflow import store
from discflow.cli._demo import banner, fresh_demo_token, print_banner
from discflow.store import Database, Role


def test_taken_port_is_said_at_once_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "discflow", "demo", "--port", str(port)],
            env={
                **os.environ,
                "DISCFLOW_DATA_DIR": str(tmp_path / "data"),
                "DISCFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in done.stdout
    assert "is up" not in done.stdout and "password" not in done.stdout
    # checked before anything else: no database, no catalog, no agent
    assert not (tmp_path / "demo.db").exists()
    assert not (tmp_path / "data" / "demo-agents").exists()


def test_banner_lines_never_wrap_in_a_narrow_log() -> None:
    token = "dft_" + "A" * 43
    lines = banner(
        "http://127.0.0.1:8123",
        passwords={"customer": "pw-cust", "operator": "pw-op"},
        tokens={"customer": token, "operator": token.replace("A", "B")},
    )
    sink = io.StringIO()
    print_banner(Console(file=sink, width=40, force_terminal=False), lines)
    printed = sink.getvalue().splitlines()
    for line in lines:
        assert line in printed, line  # whole, on one line of its own
    assert "  customer  user customer  password pw-cust" in printed
    assert f"  customer token: {token}" in printed


def test_restarted_demo_revokes_the_last_runs_tokens(database: Database) -> None:
    with database.transaction() as session:
        user = store.ensure_user(session, "customer", role=Role.CUSTOMER)
        first = fresh_demo_token(session, user)
        other = store.create_token(session, user, label="mine")
    with database.transaction() as session:
        user = store.ensure_user(session, "customer", role=Role.CUSTOMER)
        second = fresh_demo_token(session, user)
    with database.transaction() as session:
        assert store.principal_for_token(session, first) is None
        assert store.principal_for_token(session, second) is not None
        assert store.principal_for_token(session, other) is not None  # not a demo token
