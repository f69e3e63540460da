"""Errors of the labels part, all under ``discflow.errors.LabelError``.

Invariant: every message names what was wrong and what the operator can do.
"""

from __future__ import annotations

from discflow.errors import InvalidInput, LabelError

__all__ = ["LabelInputError", "LabelTooSmall", "PrintFailed", "PrinterNotFound"]


class LabelInputError(LabelError, InvalidInput):
    """Label input (addresses file, ids, merge fields) is malformed."""


class LabelTooSmall(LabelError):
    """The text cannot fit the label even at the smallest legible size."""


class PrintFailed(LabelError):
    """The printing system refused or lost a print job."""


class PrinterNotFound(PrintFailed):
    """The named printer queue does not exist."""
