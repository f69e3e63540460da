"""Many device agents in one process: one uvicorn server per agent, all in one asyncio loop.

A hundred ``discflow agent`` processes would cost a hundred Python interpreters on a
2-core machine; the agents themselves are asyncio services, so one process can host
them all on different loopback ports. Each agent is the real ``create_agent_app``
(heartbeats to ``server_url``, cache, media ledger, sim driver), so the server and the
dispatchers cannot tell the difference.

    python bench/agent_farm.py --configs farm.json

``farm.json`` is a JSON list of agent config mappings (the keys of ``agent.toml``).
SIGTERM or SIGINT stops every agent gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import uvicorn

from discflow.agent import create_agent_app, parse_config


def _server(data: dict[str, Any], source: str) -> uvicorn.Server:
    config = parse_config(data, source=source)
    host, _, port = config.listen.rpartition(":")
    app = create_agent_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=int(port), log_level="warning", access_log=False)
    )
    # one handler for the whole farm (below), not one per server
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    return server


async def _main(configs: list[dict[str, Any]], source: str) -> None:
    servers = [_server(data, f"{source}[{i}]") for i, data in enumerate(configs)]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", type=Path, required=True, help="JSON list of agent configs")
    args = parser.parse_args()
    configs = json.loads(args.configs.read_text())
    asyncio.run(_main(configs, str(args.configs)))


if __name__ == "__main__":
    main()
