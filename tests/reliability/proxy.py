"""A loopback TCP proxy between the dispatcher and one agent that can spoil uploads.

Armed with ``cut()`` it closes both sides of the connection carrying the next
content upload (``PUT /v1/cache/...``) part way through its body; armed with
``flip()`` it inverts one byte of that body and passes the rest unchanged.
Each arming spoils exactly one upload, then the proxy passes bytes as they
come. Everything else (job commands, status polls) goes through untouched.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass

_PUT = b"PUT /v1/cache/"
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class Spoiled:
    cuts: int = 0
    flips: int = 0


class FaultProxy:
    """Listens on a free loopback port and forwards to ``upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._mode: str | None = None
        self._lock = threading.Lock()
        self.spoiled = Spoiled()
        self._closed = False
        threading.Thread(target=self._accept, name=f"proxy:{self.port}", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self._mode = "cut"

    def flip(self) -> None:
        with self._lock:
            self._mode = "flip"

    @property
    def armed(self) -> bool:
        return self._mode is not None

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _take(self, mode: str) -> bool:
        with self._lock:
            if self._mode != mode:
                return False
            self._mode = None
            if mode == "cut":
                self.spoiled.cuts += 1
            else:
                self.spoiled.flips += 1
            return True

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()  # the agent is down: the dispatcher sees a refused connection
                continue
            upstream.settimeout(None)
            threading.Thread(target=self._pump_up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client to agent, watching for an upload body to spoil."""
        position = 0  # offset in this direction's byte stream of the next chunk
        tail = b""  # the last bytes already forwarded, to find headers split over chunks
        target: int | None = None  # stream offset of the byte to spoil
        mode = ""
        try:
            while chunk := client.recv(65536):
                if target is None and self._mode is not None:
                    hay = tail + chunk
                    start = position - len(tail)
                    found = hay.rfind(_PUT)
                    end = hay.find(b"\r\n\r\n", found) if found >= 0 else -1
                    length = _LENGTH.search(hay, found, end) if end >= 0 else None
                    if length is not None and int(length.group(1)) > 4096:
                        target = start + end + 4 + 2048
                        mode = self._mode
                if target is not None and position <= target < position + len(chunk):
                    at = target - position
                    target = None
                    if mode == "cut" and self._take("cut"):
                        upstream.sendall(chunk[:at])
                        break
                    if mode == "flip" and self._take("flip"):
                        chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1 :]
                upstream.sendall(chunk)
                position += len(chunk)
                tail = (tail + chunk)[-8192:]
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
