"""Start a stand-in robot process on a hot folder and drive its test controls."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from .standins._control import write_control

STANDINS = Path(__file__).parent / "standins"

__all__ = ["standin", "status_until", "write_control"]


READY = {"ptburn": "Status/SystemStatus.txt", "tdbridge": "TDBStatus.txt"}


@contextmanager
def standin(name: str, jobs: Path, *args: str) -> Iterator[Path]:
    """The stand-in running on ``jobs``, once it has written its first status file."""
    jobs.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, str(STANDINS / f"{name}.py"), "--jobs-dir", str(jobs), *args]
    )
    try:
        end = time.monotonic() + 20
        while not (jobs / READY[name]).exists():
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"the {name} stand-in did not start (exit {proc.poll()})")
            time.sleep(0.02)
        yield jobs
    finally:
        proc.kill()
        proc.wait()


async def status_until(
    client: httpx.AsyncClient, done: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    """Poll ``GET /v1/status`` until ``done`` holds (within the issue's 10 s)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        body: dict[str, Any] = (await client.get("/v1/status")).json()
        if done(body):
            return body
        if loop.time() > end:
            raise AssertionError(f"status never got there: {body}")
        await asyncio.sleep(0.05)


def reasons(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["reason"]: r for r in body.get("reasons", [])}
