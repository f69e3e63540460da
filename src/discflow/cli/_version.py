from __future__ import annotations

import typer

from discflow import __version__
from discflow.cli import app


@app.command()
def version() -> None:
    """Print discflow's version."""
    typer.echo(__version__)
