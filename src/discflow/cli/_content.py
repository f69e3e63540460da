from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from discflow import store
from discflow.archive import BlobStore, StoredImage, catalog_image
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.domain import check_fits, describe_size, media_type
from discflow.settings import Settings

content_app = typer.Typer(help="The content archive and catalog.", no_args_is_help=True)
app.add_typer(content_app, name="content")


def ingest_with_progress(blobs: BlobStore, path: Path, *, volume_name: str) -> StoredImage:
    """Ingest a file or folder, showing a progress bar on the terminal."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"ingest {path.name}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if path.is_dir():
            return blobs.ingest_directory(path, volume_name=volume_name, progress=report)
        return blobs.ingest_iso(path, progress=report)


def _volume_name(title: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in title.upper())
    return cleaned.strip("_")[:32] or "DISCFLOW"


@content_app.command("add")
def add(
    path: Path = typer.Argument(..., help="an ISO/UDF image file, or a folder to build one from"),
    title: str = typer.Option(..., help="the title customers see"),
    description: str = typer.Option("", help="a longer description"),
    tags: str = typer.Option("", help="comma-separated tags"),
    media: str = typer.Option("", help="comma-separated media it must fit, e.g. CD-R,DVD-R"),
) -> None:
    """Add a content to the archive; the new content id is printed on the last line."""
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist", param_hint="PATH")
    wanted = [media_type(m) for m in media.split(",") if m.strip()]
    settings = Settings()
    blobs = BlobStore(settings.archive_dir)
    stored = ingest_with_progress(blobs, path, volume_name=_volume_name(title))
    for m in wanted:
        check_fits(content_id=title, size_bytes=stored.size_bytes, media=m)
    with open_database(settings).transaction() as session:
        content = catalog_image(
            session, stored, title=title, description=description, tags=tags, actor="cli"
        )
        fits = ", ".join(m.name for m in store.fitting_media(content))
        console.print(
            f"{title}: {describe_size(stored.size_bytes)}, sha256 {stored.sha256[:16]}…,"
            f" fits {fits}",
            highlight=False,
        )
        typer.echo(content.id)


def _table(rows: list[store.Content]) -> Table:
    table = Table("id", "title", "size", "media", "tags")
    for c in rows:
        table.add_row(
            c.id,
            c.title,
            describe_size(c.size_bytes),
            ", ".join(m.name for m in store.fitting_media(c)[:3]),
            ", ".join(c.tags),
        )
    return table


@content_app.command("list")
def list_(limit: int = typer.Option(100, min=1, max=10_000)) -> None:
    """The catalog, by title."""
    with open_database().transaction() as session:
        console.print(_table(store.search_contents(session, "", limit=limit)))


@content_app.command("search")
def search(words: list[str] = typer.Argument(..., help="words to look for")) -> None:
    """Full-text search over titles, descriptions and tags."""
    with open_database().transaction() as session:
        rows = store.search_contents(session, " ".join(words))
        if not rows:
            console.print("no content matches")
            raise typer.Exit(1)
        console.print(_table(rows))
