"""One generic polling loop: interval, backoff on failure, log only on change.

Used by every loop in discflow (the agent's job, device and heartbeat loops,
the dispatcher's rounds and per-device pushers, the mail outbox and the
notifier), so each of them is only its step.

Invariants: ``step`` runs at most once at a time; after ``n`` failures in a
row the next try waits ``retry_s * 2**n`` capped at ``max_backoff``; a log line
is written only when the outcome changes (ok -> failing, failing -> ok, or a
different error message), so a server that is away for an hour costs one
line, not thousands; an unexpected exception (not in ``expected``) is logged
with its traceback. ``wake()`` runs the step early (e.g. right after a state
change); ``wake()`` is safe from other threads once the loop runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Coordinator"]

Pause = Callable[[float], Awaitable[None]]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Coordinator:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        *,
        interval: float,
        retry_s: float | None = None,
        max_backoff: float = 30.0,
        logger: logging.Logger | None = None,
        expected: tuple[type[BaseException], ...] = (Exception,),
        pause: Pause | None = None,
    ) -> None:
        self.name = name
        self._step = step
        self.interval = interval
        self.retry_s = interval if retry_s is None else retry_s
        self.max_backoff = max_backoff
        self._log = logger or logging.getLogger("discflow.agent")
        self._expected = expected
        self._pause = pause or self._wait_for_wake
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        self.last_error: str | None = None
        self.runs = 0

    @property
    def ok(self) -> bool:
        return self.failures == 0

    @property
    def woken(self) -> bool:
        return self._wake.is_set()

    def wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or _running_loop() is loop:
            self._wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._forever(), name=f"coordinator-{self.name}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def cancel(self) -> None:
        """Stop at the next await, without waiting for it (from synchronous code)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> None:
        """One step with the bookkeeping of the loop; never raises (it logs)."""
        try:
            await self._step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the loop must survive any failure
            message = f"{type(exc).__name__}: {exc}"
            if self.failures == 0 or message != self.last_error:
                self._log.warning(
                    "%s failing: %s (retrying with backoff)",
                    self.name,
                    message,
                    exc_info=not isinstance(exc, self._expected),
                )
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
        backoff = self.retry_s * 2 ** min(self.failures, 16)
        return float(min(max(self.max_backoff, self.retry_s), backoff))

    async def wait_for_wake(self, timeout: float) -> bool:
        """Sleep up to ``timeout``; True when ``wake()`` ended it (for a custom ``pause``)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        return self._wake.is_set()

    async def _wait_for_wake(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            await self.run_once()
            await self._pause(self.delay())

    async def run(self, stop: asyncio.Event) -> None:
        """The loop in the caller's task, until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            await self.run_once()
            if stop.is_set():
                return
            waits = {
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._pause(self.delay())),
            }
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
