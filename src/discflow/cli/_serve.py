from __future__ import annotations

import typer
import uvicorn

from discflow.cli import app
from discflow.settings import Settings
from discflow.web import create_app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
) -> None:
    """Run the server (REST API and pages)."""
    settings = Settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
