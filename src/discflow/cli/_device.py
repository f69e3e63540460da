from __future__ import annotations

import typer
from rich.table import Table

from discflow import store
from discflow.cli import app
from discflow.cli._common import console, open_database

device_app = typer.Typer(help="Output devices (disc publishers).", no_args_is_help=True)
app.add_typer(device_app, name="device")


@device_app.command("add")
def add(
    name: str = typer.Argument(..., help="a short name such as pub-1"),
    driver: str = typer.Option(..., help="image, xorriso, ptburn, tdbridge or sim"),
    address: str = typer.Option(..., help="the agent's URL, e.g. http://127.0.0.1:8101"),
    token: str | None = typer.Option(None, help="use this agent token instead of enrolment"),
    site: str = typer.Option(
        store.DEFAULT_SITE, help="the site (fleet) it belongs to; one dispatcher plans each site"
    ),
) -> None:
    """Register a device; prints the one-time enrolment code for its agent."""
    with open_database().transaction() as session:
        _, code = store.register_device(
            session,
            name=name,
            driver=driver,
            address=address,
            actor="cli",
            agent_token=token,
            site=site,
        )
    console.print(f"device {name} registered")
    if code:
        console.print("enrolment code (put it in the agent's config as enrol_code):")
        typer.echo(code)


@device_app.command("site")
def site(
    name: str = typer.Argument(..., help="the device"),
    site: str = typer.Argument(..., help="the site it now belongs to"),
) -> None:
    """Move a device to another site (planned by that site's dispatcher from now on)."""
    with open_database().transaction() as session:
        store.move_device(session, name, site=site, actor="cli")
    console.print(f"device {name} is in site {site}")


@device_app.command("list")
def list_() -> None:
    """The devices with their availability, drives, blanks and cache."""
    table = Table("name", "site", "driver", "availability", "drives", "blanks", "cache used / size")
    with open_database().transaction() as session:
        for device in store.list_devices(session):
            blanks = ", ".join(f"{m.media} {m.loaded}" for m in device.media) or "-"
            used = device.cache_capacity_bytes - device.cache_free_bytes
            table.add_row(
                device.name,
                device.site,
                device.driver,
                device.availability,
                str(len(device.drives)),
                blanks,
                f"{used / 1e9:.1f} / {device.cache_capacity_bytes / 1e9:.1f} GB",
            )
    console.print(table)
