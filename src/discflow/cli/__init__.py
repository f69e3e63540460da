"""The ``discflow`` command. Each command group lives in its own module here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="discflow",
    help="Duplication-on-demand server for optical media.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Duplication-on-demand server for optical media."""


def main() -> None:
    _register()
    app()


def _register() -> None:
    # Imported here so that `discflow --help` lists every group while each
    # module stays independent of the others.
    from discflow.cli import _scheduler, _version  # noqa: F401


__all__ = ["app", "main"]
