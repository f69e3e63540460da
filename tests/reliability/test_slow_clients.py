"""Issue #19 item 10: clients that trickle their headers must not hold the server.

50 connections sending one header line a second used to stay open for as long as
they liked (uvicorn has no header timeout). A real ``discflow serve`` here, with a
1 s header deadline: every trickling connection is closed within a bounded time
while a normal client is answered throughout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.processes import free_port, started

HEADER_TIMEOUT_S = 1.0
TRICKLERS = 50


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        "DISCFLOW_DATA_DIR": str(tmp_path / "data"),
        "DISCFLOW_DATABASE_URL": database_url,
        "DISCFLOW_RUN_DISPATCHER": "0",
        "DISCFLOW_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    }
    base = f"http://127.0.0.1:{port}"
    with started(
        ["serve", "--port", str(port), "--no-access-log"],
        env,
        ready_url=f"{base}/api/v1/health",
        log=tmp_path / "serve.log",
    ):
        yield base


def _closed(sock: socket.socket) -> bool:
    """True once the server has closed its side (a read gives EOF or a reset)."""
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_trickled_headers_are_cut_off_and_others_are_served(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    socks = []
    for _ in range(TRICKLERS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        sock.setblocking(False)
        socks.append(sock)
    started_at = time.monotonic()
    open_ones = list(socks)
    served = 0
    while open_ones and time.monotonic() - started_at < 10 * HEADER_TIMEOUT_S:
        for sock in list(open_ones):
            try:
                sock.send(b"X-Slow: 1\r\n")  # one more header line, never the blank line
            except OSError:
                open_ones.remove(sock)
                continue
            if _closed(sock):
                open_ones.remove(sock)
        assert httpx.get(f"{server}/api/v1/health", timeout=2).status_code == 200
        served += 1
        time.sleep(0.2)
    took = time.monotonic() - started_at
    for sock in socks:
        sock.close()
    assert not open_ones, f"{len(open_ones)} of {TRICKLERS} trickling connections still open"
    # bounded: the deadline plus scheduling slack on a shared 2-core machine
    assert took < 6 * HEADER_TIMEOUT_S, took
    assert served >= 2


def test_a_prompt_client_on_a_kept_alive_connection_is_not_cut(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as client:
        for _ in range(3):
            assert client.get("/api/v1/health").status_code == 200
            time.sleep(HEADER_TIMEOUT_S * 1.5)  # idle past the header deadline, under keep-alive
        assert client.get("/api/v1/health").status_code == 200
