"""Start discflow's own processes for system tests, on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

DISCFLOW = [sys.executable, "-m", "discflow"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(args: list[str], env: Mapping[str, str], *, check: bool = True) -> str:
    """Run ``discflow ARGS`` and return its stdout; the last line is the result."""
    done = subprocess.run(
        [*DISCFLOW, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"discflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def wait_http(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def spawn(args: list[str], env: Mapping[str, str], *, log: Path) -> subprocess.Popen[bytes]:
    """``discflow ARGS`` in its own session, output appended to ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*DISCFLOW, *args],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def started(
    args: list[str],
    env: Mapping[str, str],
    *,
    ready_url: str,
    log: Path,
    ready_timeout_s: float = 120.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """A discflow process that is stopped (SIGTERM, then SIGKILL) when the block ends."""
    process = spawn(args, env, log=log)
    try:
        wait_http(ready_url, process=process, timeout=ready_timeout_s)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class Service:
    """A discflow process that a test may kill and start again (same args, same log)."""

    def __init__(
        self, args: list[str], env: Mapping[str, str], *, log: Path, ready_url: str | None = None
    ) -> None:
        self.args = args
        self.env = dict(env)
        self.log = log
        self.ready_url = ready_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn(self.args, self.env, log=self.log)
        if self.ready_url is not None:
            wait_http(self.ready_url, process=self.process)

    def kill(self) -> None:
        if self.process is not None:
            stop(self.process, kill=True)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
