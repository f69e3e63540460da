"""Transfer benchmark: push one content to a device agent on loopback vs a raw socket sink.

Usage: .venv/bin/python bench/transfer.py [--size-mb 2048] [--workdir DIR]

Both legs move the same file over 127.0.0.1 in the same run:
- raw: ``socket.sendfile`` into a plain socket server that reads and discards;
- agent: ``PUT /v1/cache/{sha256}`` to a real ``discflow agent`` process (uvicorn),
  which hashes the bytes while they arrive, writes them to its cache, fsyncs and
  renames the file in place when the sha256 matches.
Prints a JSON summary with both rates and their ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

_BLOCK = 1 << 20


def make_content(path: Path, size: int) -> str:
    hasher = hashlib.sha256()
    seed = os.urandom(_BLOCK)
    with path.open("wb") as handle:
        left = size
        n = 0
        while left:
            block = hashlib.sha256(n.to_bytes(8, "big")).digest() + seed[32:]
            block = block[: min(left, _BLOCK)]
            handle.write(block)
            hasher.update(block)
            left -= len(block)
            n += 1
    return hasher.hexdigest()


def raw_sink(path: Path, size: int, *, to_disk: Path | None = None) -> float:
    """Seconds to send the file to a plain socket server (discarding, or writing+fsync)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = 0

    def serve() -> None:
        nonlocal received
        conn, _ = server.accept()
        buffer = bytearray(_BLOCK)
        out = open(to_disk, "wb") if to_disk else None
        with conn:
            while True:
                n = conn.recv_into(buffer)
                if not n:
                    break
                received += n
                if out is not None:
                    out.write(memoryview(buffer)[:n])
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
            out.close()

    thread = threading.Thread(target=serve)
    thread.start()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, path.open("rb") as handle:
        sock.sendfile(handle)
    thread.join()
    elapsed = time.perf_counter() - start
    server.close()
    assert received == size
    return elapsed


def agent_push(path: Path, size: int, sha: str, work: Path) -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = work / "agent.toml"
    config.write_text(
        f'name = "bench"\ndriver = "sim"\nlisten = "127.0.0.1:{port}"\ntoken = "bench"\n'
        f'cache_dir = "{work / "cache"}"\ncache_bytes = {size * 2}\n'
        "[media.CD-R]\nloaded = 1\nwrite_Bps = 7_800_000\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from discflow.cli import main; main()",
            "agent",
            "--config",
            str(config),
            "--log-level",
            "warning",
        ]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)

        def chunks():  # type: ignore[no-untyped-def]
            with path.open("rb") as handle:
                while block := handle.read(4 * _BLOCK):
                    yield block

        start = time.perf_counter()
        response = httpx.put(
            f"{base}/v1/cache/{sha}",
            content=chunks(),
            timeout=600,
            headers={"Authorization": "Bearer bench", "Content-Length": str(size)},
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 201, response.text
    finally:
        proc.terminate()
        proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    size = args.size_mb * _BLOCK
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        content = work / "content.bin"
        sha = make_content(content, size)
        raw_s = raw_sink(content, size)
        disk_s = raw_sink(content, size, to_disk=work / "sink.bin")
        (work / "sink.bin").unlink()
        agent_s = agent_push(content, size, sha, work)
    raw_rate, disk_rate, agent_rate = size / raw_s, size / disk_s, size / agent_s
    print(
        json.dumps(
            {
                "bytes": size,
                "raw_socket_discard_MBps": round(raw_rate / 1e6, 1),
                "raw_socket_to_disk_fsync_MBps": round(disk_rate / 1e6, 1),
                "agent_put_MBps": round(agent_rate / 1e6, 1),
                "agent_vs_discard": round(agent_rate / raw_rate, 3),
                "agent_vs_disk_copy": round(agent_rate / disk_rate, 3),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
