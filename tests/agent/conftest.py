"""Helpers for agent tests: real configs in tmp_path, the app with its lifespan."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from discflow.agent import AgentConfig, create_agent_app, parse_config
from discflow.agent.drivers import WriteOrder

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_config(tmp_path: Path, **overrides: Any) -> AgentConfig:
    data: dict[str, Any] = {
        "name": "pub-1",
        "driver": "image",
        "listen": "127.0.0.1:8101",
        "token": TOKEN,
        "cache_dir": str(tmp_path / "cache"),
        "cache_bytes": 50_000_000,
        "drives": 2,
        "poll_s": 0.02,
        "media": {"CD-R": {"loaded": 10, "write_Bps": 7_800_000}},
        "driver_options": {"output_dir": str(tmp_path / "discs")},
    }
    data.update(overrides)
    return parse_config(data, source="test.toml")


@asynccontextmanager
async def running(config: AgentConfig, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The agent app with its lifespan, and an authenticated in-process client."""
    app = create_agent_app(config, **kwargs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", headers=AUTH
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def write_order(media: str, **fields: Any) -> WriteOrder:
    """A three-copy verified order as the job runner hands it to a driver; ``fields``
    override any value (the hot-folder drivers' job-file tests vary one at a time)."""
    values: dict[str, Any] = {
        "order_id": "o1-abc123-1",
        "job_id": "o1",
        "image": Path("/x.iso"),
        "sha256": "a" * 64,
        "size_bytes": 1,
        "media": media,
        "copies": 3,
        "volume_name": "V",
        "verify": True,
    }
    values.update(fields)
    return WriteOrder(**values)


def content(size: int, seed: int = 1) -> tuple[bytes, str]:
    data = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    data = data[:size]
    return data, hashlib.sha256(data).hexdigest()


async def upload(client: httpx.AsyncClient, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    response = await client.put(f"/v1/cache/{sha}", content=data)
    assert response.status_code == 201, response.text
    return sha


async def wait_for(
    client: httpx.AsyncClient,
    job_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        body = (await client.get(f"/v1/jobs/{job_id}")).json()
        if done(body):
            return body
        if loop.time() > end:
            raise AssertionError(f"job {job_id} did not get there: {body}")
        await asyncio.sleep(0.02)


def final(body: dict[str, Any]) -> bool:
    return body["state"] in ("done", "failed", "cancelled", "interrupted")


@pytest.fixture
def cfg(tmp_path: Path) -> AgentConfig:
    return make_config(tmp_path)


def make_unwritable_drive(output_dir: Path, drive: int) -> None:
    """A real fault: the drive's output folder is a plain file, so writes fail."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"drive-{drive}").write_bytes(b"not a folder")
    assert not os.path.isdir(output_dir / f"drive-{drive}")
