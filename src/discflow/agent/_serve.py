"""Run one agent under uvicorn (the ``discflow agent`` command).

Invariant: TLS is on exactly when the config names a certificate and a key.
"""

from __future__ import annotations

import uvicorn

from discflow.agent._app import create_agent_app
from discflow.agent._config import AgentConfig

__all__ = ["run_agent"]


def run_agent(config: AgentConfig, *, log_level: str = "info") -> None:
    """Serve the agent until Ctrl-C."""
    app = create_agent_app(config)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level=log_level,
        ssl_certfile=str(config.tls_cert) if config.tls_cert else None,
        ssl_keyfile=str(config.tls_key) if config.tls_key else None,
    )
