"""The agent's own refusals, each under a ``discflow.errors`` family.

The HTTP layer maps each class to one status code; messages say what to do.
"""

from __future__ import annotations

from discflow.errors import InvalidInput

__all__ = ["CacheFull", "Conflict", "HashMismatch"]


class Conflict(InvalidInput):
    """The request clashes with the agent's current state (HTTP 409)."""


class CacheFull(InvalidInput):
    """An upload would exceed the cache capacity (HTTP 507)."""


class HashMismatch(InvalidInput):
    """Uploaded bytes do not hash to the sha256 they were sent as (HTTP 422)."""
