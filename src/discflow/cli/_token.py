from __future__ import annotations

import typer

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, err_console, open_database

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    role: str = typer.Option(..., help="customer, operator or admin"),
    user: str = typer.Option(..., help="the user's name; created if new"),
    email: str | None = typer.Option(None, help="the user's e-mail address (new users)"),
) -> None:
    """Create a bearer token; the token alone is printed on the last line."""
    parsed = store.parse_role(role)
    with open_database().transaction() as session:
        account = store.ensure_user(session, user, role=parsed, email=email)
        if account.role != parsed.value:
            console.print(f"note: {user} already exists with role {account.role}", style="yellow")
        token = store.create_token(session, account, label="cli")
    typer.echo(token)


@token_app.command("rotate-key")
def rotate_key() -> None:
    """Replace the server key that seals agent tokens (agents keep their tokens).

    With the key in ``<data_dir>/secret.key`` the file is replaced; with
    ``DISCFLOW_SECRET_KEY`` the new key is printed on the last line: set it for every
    discflow process (server, workers, dispatcher) and restart them.
    """
    with open_database().transaction() as session:
        new_key, key_file = store.rotate_server_key(session)
    if key_file is not None:
        store.install_rotated_key(key_file)
        err_console.print(f"server key replaced in {key_file}; restart the discflow processes")
        return
    err_console.print(
        "agent tokens re-sealed: set DISCFLOW_SECRET_KEY to the key below for every"
        " discflow process and restart them (until then they cannot reach the agents)"
    )
    typer.echo(new_key)
