"""``discflow dicom ...`` (the AE-title allow list) and ``discflow content add-dicom``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from discflow import store
from discflow.archive import BlobStore
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.cli._content import content_app
from discflow.dicom import add_dicom_content, allow_peer, list_peers
from discflow.errors import NotFound
from discflow.settings import Settings

dicom_app = typer.Typer(help="The DICOM service: which AE titles may send.", no_args_is_help=True)
app.add_typer(dicom_app, name="dicom")


@dicom_app.command("allow")
def allow(
    ae_title: str = typer.Option(..., "--ae-title", help="the calling AE title of the PACS"),
    user: str = typer.Option(..., help="the customer account its requests are ordered for"),
    host: str = typer.Option("", help="accept it only from this address (default: any)"),
) -> None:
    """Let a calling AE title (from one host, or any) use the DICOM service as USER."""
    database = open_database()
    try:
        with database.transaction() as session:
            peer = allow_peer(session, ae_title=ae_title, user=user, host=host)
            where = peer.host or "any host"
            console.print(f"AE title {peer.ae_title!r} from {where} now acts for {user}")
    finally:
        database.dispose()


@dicom_app.command("list")
def list_allowed() -> None:
    """The AE titles allowed in, with their host and account."""
    database = open_database()
    try:
        with database.transaction() as session:
            table = Table("AE title", "host", "account")
            for peer, name in list_peers(session):
                table.add_row(peer.ae_title, peer.host or "(any)", name)
            console.print(table)
    finally:
        database.dispose()


@content_app.command("add-dicom")
def add_dicom(
    path: Path = typer.Argument(..., help="a folder or .zip of DICOM files"),
    title: str = typer.Option(..., help="the title the disc is listed under"),
    media: str = typer.Option("CD-R", help="the media the discs are made for"),
    owner: str = typer.Option("", help="make it this account's private content"),
    split: bool = typer.Option(True, help="split a study larger than one disc"),
) -> None:
    """Make IHE PDI disc images (DICOMDIR, DICOM/, README.TXT, INDEX.HTM) and add them."""
    settings = Settings()
    database = open_database(settings)
    try:
        with (
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
            ) as progress,  # fmt: skip
            database.transaction() as session,
        ):
            progress.add_task(f"building PDI images from {path.name}", total=None)
            owner_id = None
            if owner:
                user = session.scalar(select(store.User).where(store.User.name == owner))
                if user is None:
                    raise NotFound(f"no user {owner!r}")
                owner_id = user.id
            added = add_dicom_content(
                session,
                BlobStore(settings.archive_dir),
                path,
                title=title,
                media=media,
                allow_split=split,
                owner_user_id=owner_id,
            )
        console.print(f"{added.instances} instances, {added.skipped} other files skipped")
        for content in added.contents:
            console.print(content.id)
    finally:
        database.dispose()
