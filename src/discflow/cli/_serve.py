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
    smtp_port: int | None = typer.Option(
        None, help="also take mail commands on this SMTP port (needs DISCFLOW_MAIL_DOMAIN)"
    ),
) -> None:
    """Run the server (REST API and pages, and mail when configured)."""
    settings = Settings()
    if smtp_port is not None:
        settings = settings.model_copy(update={"smtp_port": smtp_port})
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
