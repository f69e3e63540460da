"""Shared pieces of the multi-process system tests (end-to-end, fault campaign).

A catalog made of real ISO images in the archive, the server's environment for
a run on loopback, and read-outs over the HTTP API that the checks compare
with the store and the agents.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from discflow import store
from discflow.archive import BlobStore
from discflow.store import Database

FINAL_REQUEST_STATES = ("done", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class Stored:
    id: str
    sha256: str
    size_bytes: int


def ingest_contents(
    database: Database, blobs: BlobStore, root: Path, *, sizes: Sequence[int], seed: int
) -> list[Stored]:
    """One catalog entry per size: a small folder tree made into an ISO in the archive."""
    rng = random.Random(seed)
    made = []
    for index, size in enumerate(sizes):
        tree = root / f"content-{index}"
        (tree / "docs").mkdir(parents=True)
        (tree / "docs" / "notes.txt").write_text(f"content {index}\n" * 50)
        (tree / f"data-{index}.bin").write_bytes(rng.randbytes(size))
        stored = blobs.ingest_directory(tree, volume_name=f"CONTENT_{index}")
        with database.transaction() as session:
            content = store.add_content(
                session,
                title=f"Content {index}",
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
            )
            made.append(Stored(content.id, stored.sha256, stored.size_bytes))
    return made


def server_env(*, data: Path, database_url: str, labels: Path, **extra: str) -> dict[str, str]:
    """Environment of a server and dispatchers sharing one database, with short timeouts."""
    env = {
        "DISCFLOW_DATA_DIR": str(data),
        "DISCFLOW_DATABASE_URL": database_url,
        "DISCFLOW_RUN_DISPATCHER": "0",
        "DISCFLOW_HEARTBEAT_OFFLINE_S": "3",
        "DISCFLOW_OFFLINE_GRACE_S": "4",
        "DISCFLOW_LEASE_S": "5",
        "DISCFLOW_LABEL_PRINTER": f"folder:{labels}",
    }
    env.update(extra)
    return env


def all_requests(base: str, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every request the server knows (operator view), by id."""
    found: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = httpx.get(
            f"{base}/api/v1/orders",
            params={"limit": 500, "offset": offset},
            headers=headers,
            timeout=30,
        )
        page.raise_for_status()
        orders = page.json()
        for order in orders:
            for request in order["requests"]:
                found[request["id"]] = request
        if len(orders) < 500:
            return found
        offset += 500


def events_of(base: str, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    """The task log (oldest first), all pages."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        page = httpx.get(
            f"{base}/api/v1/events",
            params={**filters, "after_id": after, "limit": 1000},
            headers=headers,
            timeout=30,
        )
        page.raise_for_status()
        events = page.json()
        out += events
        if len(events) < 1000:
            return out
        after = events[-1]["id"]


def agent_token(database: Database, device: str) -> str:
    with database.transaction() as session:
        token = store.get_device(session, device).agent_token
        assert token is not None
        return token


def burn_behind_the_dispatchers_back(
    database: Database,
    blobs: BlobStore,
    agent_url: str,
    *,
    device: str,
    job_id: str,
    sha256: str,
    copies: int,
) -> None:
    """Send a job straight to an agent and wait until it is done there, as if its
    dispatcher had pushed it and died before recording anything it heard back."""
    headers = {"Authorization": f"Bearer {agent_token(database, device)}"}
    image = blobs.path_of(sha256).read_bytes()
    put = httpx.put(f"{agent_url}/v1/cache/{sha256}", content=image, headers=headers)
    assert put.status_code == 201, put.text
    command = {"job_id": job_id, "content_sha256": sha256, "media": "CD-R", "copies": copies}
    assert httpx.post(f"{agent_url}/v1/jobs", json=command, headers=headers).is_success
    deadline = time.monotonic() + 30
    while httpx.get(f"{agent_url}/v1/jobs/{job_id}", headers=headers).json()["state"] != "done":
        assert time.monotonic() < deadline, f"{device} did not burn {job_id}"
        time.sleep(0.1)
