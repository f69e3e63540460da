"""``discflow user create``: accounts that can sign in to the pages."""

from __future__ import annotations

from pathlib import Path

import typer

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.errors import InvalidInput
from discflow.store import create_user

user_app = typer.Typer(help="User accounts: web sign-in and mail tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _read_password(password_file: Path | None) -> str:
    if password_file is None:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        text = password_file.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot read the password file {password_file}: {error}") from error
    # one trailing newline is how files end, not part of the password
    return text[:-1] if text.endswith("\n") else text


@user_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="the user's sign-in name"),
    role: str = typer.Option("customer", "--role", help="customer, operator or admin"),
    password_file: Path | None = typer.Option(
        None, "--password-file", help="read the password from this file (else prompt)"
    ),
    email: str | None = typer.Option(None, "--email", help="the user's e-mail address"),
) -> None:
    """Create a user who signs in with a password (argon2-hashed)."""
    parsed = store.parse_role(role)
    password = _read_password(password_file)
    with open_database().transaction() as session:
        create_user(session, name, role=parsed, password=password, email=email)
    console.print(f"created {parsed.value} {name}; sign in at /signin")
