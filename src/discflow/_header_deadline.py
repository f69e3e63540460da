"""uvicorn's HTTP/1.1 protocol with a deadline for the request headers.

uvicorn has no header timeout: a client trickling one header line a second
holds its connection as long as it likes. This protocol closes a connection
whose headers are not complete ``DISCFLOW_HEADER_TIMEOUT_S`` after it opened
(or after the previous response, on a kept-alive connection, once the next
request's first byte came).

A module of its own, importing nothing of discflow: uvicorn's worker processes
unpickle the class before they start answering the supervisor's health check,
so importing it must be quick (``discflow.cli`` pulls in every command).
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection that is too slow with its headers."""

    # from the environment at import: workers import this class by name in a new process
    header_timeout_s = float(os.environ.get("DISCFLOW_HEADER_TIMEOUT_S", "10") or 10)
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
