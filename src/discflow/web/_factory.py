"""The app factory uvicorn calls in each worker process of ``discflow serve --workers N``.

Invariant: a worker holds no state of its own beyond caches; tokens, sessions,
idempotency keys and orders live in the database, so any worker can answer
any request and workers can be added or killed freely.
"""

from __future__ import annotations

from fastapi import FastAPI

from discflow.settings import Settings
from discflow.web.app import create_app

__all__ = ["FACTORY", "create_app_from_env"]

# the import string uvicorn needs to build the app inside each worker
FACTORY = "discflow.web._factory:create_app_from_env"


def create_app_from_env() -> FastAPI:
    """Build the app from ``DISCFLOW_*`` variables (the parent sets them before forking)."""
    return create_app(Settings())
