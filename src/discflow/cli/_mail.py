"""``discflow mail test`` and ``discflow user mail-token``: the mail part's commands."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy import select

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.cli._users import user_app
from discflow.errors import ConfigError, InvalidInput, NotFound
from discflow.mail import mail_settings, probe_message, rotate_mail_token, send_message
from discflow.settings import Settings

mail_app = typer.Typer(help="E-mail: commands in, notifications out (docs/mail.md).")
app.add_typer(mail_app, name="mail")


@mail_app.command("test")
def test(to: str = typer.Option(..., help="where to send the test mail")) -> None:
    """Send a test mail through the configured relay (DISCFLOW_SMTP_RELAY_*)."""
    if "@" not in to:
        raise InvalidInput(f"{to!r} is not a mail address")
    config = mail_settings(Settings())
    if config.relay is None:
        raise ConfigError("no relay configured: set DISCFLOW_SMTP_RELAY_HOST (and _PORT, ...)")
    asyncio.run(send_message(config.relay, probe_message(sender=config.sender, to=to)))
    console.print(f"sent a test mail to {to} through {config.relay.host}:{config.relay.port}")


@user_app.command("mail-token")
def mail_token(
    user: str = typer.Option(..., help="the user's name"),
    email: str | None = typer.Option(None, help="set the user's mail address too"),
) -> None:
    """Create or rotate a user's mail token; the token alone is printed on the last line."""
    with open_database().transaction() as session:
        account = session.scalar(select(store.User).where(store.User.name == user))
        if account is None:
            raise NotFound(
                f"no user named {user!r}; create one with "
                "'discflow token create --role customer --user NAME --email ADDR'"
            )
        if email is not None:
            if "@" not in email or any(ch.isspace() for ch in email):
                raise InvalidInput(f"{email!r} is not a mail address")
            account.email = email.strip().lower()
        if not account.email:
            raise InvalidInput(f"{user} has no mail address; add one with --email ADDR")
        token = rotate_mail_token(session, account, actor="cli")
        console.print(f"mail token for {user} <{account.email}> (the old one no longer works):")
    typer.echo(token)
