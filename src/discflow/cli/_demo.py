"""`discflow demo`: server, dispatcher and three devices on one machine.

Invariants:
- The port is checked before anything starts, so a taken port is said at
  once (exit 2) and no banner claims a server that never came up.
- Passwords and tokens are new on every start, and the previous start's demo
  tokens are revoked: nothing printed by an earlier run still opens the API.
- The banner is a block of short lines printed without wrapping, so a log
  or a narrow terminal keeps each URL and secret whole on its line.
"""

from __future__ import annotations

import errno
import logging
import secrets
import signal
import socket

import typer
import uvicorn
from rich.console import Console
from sqlalchemy import update
from sqlalchemy.orm import Session

from discflow import store
from discflow.archive import BlobStore
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.demo import DEMO_DEVICES, Fleet, ensure_sample_catalog
from discflow.settings import Settings
from discflow.store import ApiToken, Role, User, set_password
from discflow.web import create_app

DEMO_TOKEN_LABEL = "demo"  # nosec B105: the label of the demo's tokens, not a secret


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def port_problem(host: str, port: int) -> str:
    """Why ``host:port`` cannot be listened on, or "" when it can."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use; stop what uses it or pick --port"
            return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return ""


def fresh_demo_token(session: Session, user: User) -> str:
    """Revoke the user's earlier demo tokens and issue a new one."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.label == DEMO_TOKEN_LABEL)
        .values(revoked=True)
    )
    return store.create_token(session, user, label=DEMO_TOKEN_LABEL)


def banner(url: str, *, passwords: dict[str, str], tokens: dict[str, str]) -> list[str]:
    """The lines that tell a person how to use the demo (one fact per line)."""
    lines = [
        "discflow demo is up",
        f"  web UI    {url}/",
        f"  API docs  {url}/docs",
    ]
    for role in ("customer", "operator"):
        lines.append(f"  {role:<9} user {role}  password {passwords[role]}")
    for role in ("customer", "operator"):
        lines.append(f"  {role} token: {tokens[role]}")
    lines.append("  (new passwords and tokens on every start; earlier ones no longer work)")
    return lines


def print_banner(out: Console, lines: list[str]) -> None:
    """Plain lines, never wrapped: each URL and secret stays whole in a log."""
    out.print("\n".join(["", *lines, ""]), soft_wrap=True, highlight=False, markup=False)


@app.command()
def demo(
    port: int = typer.Option(8000, help="port of the web UI and API"),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
) -> None:
    """Run server, dispatcher and three devices (two image writers, one simulator)
    with a sample catalog; Ctrl-C stops everything."""
    problem = port_problem(host, port)
    if problem:
        console.print(f"[bold red]discflow demo did not start:[/] {problem}", soft_wrap=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    database = open_database(settings)
    blobs = BlobStore(settings.archive_dir)
    ids = ensure_sample_catalog(database, blobs, log=console.print)
    url = f"http://{host}:{port}"
    fleet = Fleet(database, settings.data_dir / "demo-agents", server_url=url)
    for spec in DEMO_DEVICES:
        fleet.add(spec)
        fleet.start(spec.name)
    passwords = {"operator": secrets.token_urlsafe(9), "customer": secrets.token_urlsafe(9)}
    tokens = {}
    with database.transaction() as session:
        for role, kind in (("operator", Role.OPERATOR), ("customer", Role.CUSTOMER)):
            user = store.ensure_user(session, role, role=kind)
            set_password(session, user, passwords[role])
            tokens[role] = fresh_demo_token(session, user)
    try:
        fleet.wait_ready()
        console.print(f"catalog: {', '.join(ids)}", soft_wrap=True)
        console.print(
            f"finished discs land in {fleet.root}/<device>/discs, each with its printed face "
            "beside it (<disc>.iso.face.pdf: title, order, customer, copy N of M)",
            soft_wrap=True,
        )
        print_banner(console, banner(url, passwords=passwords, tokens=tokens))
        console.print("Ctrl-C stops everything.\n")
        # uvicorn stops gracefully on SIGTERM, then raises the signal again with the
        # handler it found: let that be an exit, so the agents are stopped below
        # (with the default handler the process died there and left them running)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        uvicorn.run(
            create_app(settings, database=database), host=host, port=port, log_level="warning"
        )
    finally:
        fleet.stop_all()
        console.print("demo stopped")
