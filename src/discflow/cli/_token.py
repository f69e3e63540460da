from __future__ import annotations

import typer

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, open_database

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
