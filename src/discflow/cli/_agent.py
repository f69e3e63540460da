"""``discflow agent --config agent.toml``: run one device agent."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from discflow.cli import app
from discflow.errors import ConfigError


@app.command()
def agent(
    config: Path = typer.Option(..., "--config", "-c", help="the agent's TOML config file"),
    log_level: str = typer.Option("info", help="debug, info, warning or error"),
) -> None:
    """Run a device agent: content cache, blank media and write jobs of one device."""
    from discflow.agent import load_config, run_agent

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        settings = load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    run_agent(settings, log_level=log_level)
