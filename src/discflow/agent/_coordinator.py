"""One generic polling loop: interval, backoff on failure, log only on change.

Invariants: ``step`` runs at most once at a time; after a failure the next try
waits ``interval * 2**n`` capped at ``max_backoff``; a log line is written
only when the outcome changes (ok -> failing, failing -> ok, or a different
error message), so a server that is away for an hour costs one line, not
thousands. ``wake()`` runs the step early (e.g. right after a state change).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Coordinator"]


class Coordinator:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[None]],
        *,
        interval: float,
        max_backoff: float = 30.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.name = name
        self._step = step
        self.interval = interval
        self.max_backoff = max(max_backoff, interval)
        self._log = logger or logging.getLogger("discflow.agent")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        self.last_error: str | None = None
        self.runs = 0

    @property
    def ok(self) -> bool:
        return self.failures == 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"coordinator-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def run_once(self) -> None:
        """One step with the bookkeeping of the loop; never raises (it logs)."""
        try:
            await self._step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the loop must survive any failure
            message = f"{type(exc).__name__}: {exc}"
            if self.failures == 0 or message != self.last_error:
                self._log.warning("%s failing: %s (retrying with backoff)", self.name, message)
            self.failures += 1
            self.last_error = message
        else:
            if self.failures:
                self._log.info("%s recovered after %d failed tries", self.name, self.failures)
            self.failures = 0
            self.last_error = None
        self.runs += 1

    def delay(self) -> float:
        if not self.failures:
            return self.interval
        return float(min(self.max_backoff, self.interval * 2 ** min(self.failures, 16)))

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            await self.run_once()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.delay())
            except TimeoutError:
                pass
