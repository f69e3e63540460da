"""The agent's HTTP API (FastAPI): the app, its error table and its routers.

Thin routes (``agent/_routes/``, one router per resource); the ``Agent`` does
the work. Every ``/v1`` route but health needs ``Authorization: Bearer
<token>``; errors are ``{"detail": "..."}`` with a message that says how to
fix them (``discflow.protocol.install_plain_errors``). The upload and resume
protocol is described in ``agent/_routes/cache.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from discflow import __version__
from discflow.agent._agent import Agent
from discflow.agent._config import AgentConfig
from discflow.agent._errors import CacheFull, Conflict, HashMismatch
from discflow.agent._routes import ROUTERS
from discflow.agent.drivers import Driver
from discflow.errors import (
    DriverError,
    InvalidInput,
    MediaExhausted,
    NotFound,
    PermissionDenied,
)
from discflow.protocol import ErrorTable, install_plain_errors

__all__ = ["create_agent_app"]

_STATUS: ErrorTable = (
    (CacheFull, 507),
    (HashMismatch, 422),
    (Conflict, 409),
    (MediaExhausted, 409),
    (NotFound, 404),
    (PermissionDenied, 403),
    (InvalidInput, 422),
    (DriverError, 503),
)


def create_agent_app(config: AgentConfig, *, driver: Driver | None = None) -> FastAPI:
    """An ASGI app for one agent; many can live in one process (load tests)."""
    agent = Agent(config, driver=driver)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.stop()

    app = FastAPI(
        title=f"discflow device agent {config.name}",
        version=__version__,
        lifespan=lifespan,
        description="Content cache, blank media and write jobs of one output device.",
    )
    app.state.agent = agent
    install_plain_errors(app, _STATUS)
    for router in ROUTERS:
        app.include_router(router)
    return app
