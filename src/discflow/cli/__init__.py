"""The ``discflow`` command. Each command group lives in its own module here."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from discflow.errors import DiscflowError

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
    try:
        app()
    except DiscflowError as error:
        # bad input is the user's to fix: say what, exit 2 like a usage error
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(2)


def _register() -> None:
    # Imported here so that `discflow --help` lists every group while each
    # module stays independent of the others.
    import discflow.cli._agent  # noqa: F401
    import discflow.cli._content  # noqa: F401
    import discflow.cli._demo  # noqa: F401
    import discflow.cli._device  # noqa: F401
    import discflow.cli._dicom  # noqa: F401
    import discflow.cli._dispatch  # noqa: F401
    import discflow.cli._events  # noqa: F401
    import discflow.cli._labels  # noqa: F401
    import discflow.cli._mail  # noqa: F401
    import discflow.cli._ops  # noqa: F401
    import discflow.cli._order  # noqa: F401
    import discflow.cli._scheduler  # noqa: F401
    import discflow.cli._serve  # noqa: F401
    import discflow.cli._token  # noqa: F401
    import discflow.cli._users  # noqa: F401
    import discflow.cli._version  # noqa: F401


__all__ = ["app", "main"]
