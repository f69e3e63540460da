"""Device agents as child processes on loopback: the demo's floor and the system tests'.

Invariant: every agent started here is registered in the store with the same
token its config holds, so the dispatcher can reach it and it can heartbeat.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from discflow import store
from discflow.store import Database, new_token


@dataclass(frozen=True, slots=True)
class MediaSpec:
    loaded: int
    write_Bps: int
    overhead_s: float = 2.0
    low_threshold: int = 10


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    name: str
    driver: str
    drives: int
    media: Mapping[str, MediaSpec]
    cache_bytes: int = 20_000_000_000
    options: Mapping[str, Any] = field(default_factory=dict)
    heartbeat_s: float = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def agent_config(spec: DeviceSpec, *, root: Path, port: int, server_url: str, token: str) -> str:
    """The ``agent.toml`` text for one device."""
    home = root / spec.name
    lines = [
        f"name = {_toml_value(spec.name)}",
        f"driver = {_toml_value(spec.driver)}",
        f"listen = {_toml_value(f'127.0.0.1:{port}')}",
        f"server_url = {_toml_value(server_url)}",
        f"token = {_toml_value(token)}",
        f"cache_dir = {_toml_value(home / 'cache')}",
        f"cache_bytes = {spec.cache_bytes}",
        f"drives = {spec.drives}",
        f"heartbeat_s = {spec.heartbeat_s}",
        "",
    ]
    for media, m in spec.media.items():
        lines += [
            f"[media.{json.dumps(media)}]",
            f"loaded = {m.loaded}",
            f"write_Bps = {m.write_Bps}",
            f"overhead_s = {m.overhead_s}",
            f"low_threshold = {m.low_threshold}",
            "",
        ]
    options = dict(spec.options)
    if spec.driver in ("image", "xorriso") and "output_dir" not in options:
        options["output_dir"] = home / "discs"
    lines.append("[driver_options]")
    lines += [f"{key} = {_toml_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


@dataclass
class RunningAgent:
    spec: DeviceSpec
    url: str
    config: Path
    process: subprocess.Popen[bytes] | None = None


class Fleet:
    """Registers devices and runs one ``discflow agent`` process per device."""

    def __init__(self, database: Database, root: Path, *, server_url: str) -> None:
        self.database = database
        self.root = root
        self.server_url = server_url
        self.agents: dict[str, RunningAgent] = {}

    def add(self, spec: DeviceSpec) -> RunningAgent:
        """Write the config and register the device (reusing both if already there)."""
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / f"{spec.name}.toml"
        with self.database.transaction() as session:
            existing = session.get(store.Device, spec.name)
            if existing is not None and existing.agent_token and config.exists():
                token = existing.agent_token
                port = int(existing.address.rsplit(":", 1)[1])
            else:
                token, port = new_token("dfa"), free_port()
                if existing is None:
                    store.register_device(
                        session,
                        name=spec.name,
                        driver=spec.driver,
                        address=f"http://127.0.0.1:{port}",
                        actor="demo",
                        agent_token=token,
                    )
                else:
                    existing.agent_token = token
                    existing.address = f"http://127.0.0.1:{port}"
        config.write_text(
            agent_config(spec, root=self.root, port=port, server_url=self.server_url, token=token)
        )
        agent = RunningAgent(spec=spec, url=f"http://127.0.0.1:{port}", config=config)
        self.agents[spec.name] = agent
        return agent

    def start(self, name: str, *, log: Path | None = None) -> None:
        agent = self.agents[name]
        sink = (log or self.root / f"{name}.log").open("ab")
        # bandit B603 is a false alarm: our interpreter, our module, a config we wrote; no shell
        agent.process = subprocess.Popen(  # nosec B603
            [
                sys.executable,
                "-m",
                "discflow",
                "agent",
                "--config",
                str(agent.config),
                "--log-level",
                "warning",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(os.environ),
        )
        sink.close()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        for agent in self.agents.values():
            while True:
                if agent.process is not None and agent.process.poll() is not None:
                    raise RuntimeError(
                        f"agent {agent.spec.name} exited with "
                        f"{agent.process.returncode}; see {self.root}"
                    )
                try:
                    if httpx.get(f"{agent.url}/v1/health", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"agent {agent.spec.name} did not start in time")
                time.sleep(0.1)

    def kill(self, name: str) -> None:
        process = self.agents[name].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for agent in self.agents.values():
            process = agent.process
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for agent in self.agents.values():
            process = agent.process
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
