"""Operations commands: ``discflow device rotate-token``.

Invariant: the server keeps exactly one agent token per device; rotating it
invalidates the old one in the same transaction that records the event.
"""

from __future__ import annotations

import secrets

import typer

from discflow import store
from discflow.cli._common import err_console, open_database
from discflow.cli._device import device_app


@device_app.command("rotate-token")
def rotate_token(
    name: str = typer.Argument(..., help="the device whose agent token to replace"),
) -> None:
    """Give a device's agent a new token; the token alone is printed on the last line.

    The old token stops working at once: write the new one to the agent's
    token_file and restart the agent (see docs/operations.md).
    """
    token = f"dfa_{secrets.token_urlsafe(32)}"
    with open_database().transaction() as session:
        device = store.get_device(session, name)
        device.agent_token = token
        # a pending enrolment code would hand out a token the operator did not see
        device.enrol_code_hash = None
        device.enrol_expires_at = None
        store.record(session, "device.token-rotated", "agent token replaced", device=name)
    err_console.print(
        f"new agent token for {name}: put it in the agent's token_file and restart the agent"
    )
    typer.echo(token)
