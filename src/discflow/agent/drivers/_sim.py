"""``sim`` driver: a timing model of a publisher for load tests; writes nothing.

Invariants: a disc takes ``overhead_s + size / write_Bps`` seconds (twice the
write time when verifying), all multiplied by ``time_scale``; whether it fails
is drawn from a ``random.Random(seed)`` so a run with the same seed and the
same order of discs fails the same discs. Failures split between write and
verify failures as the real devices' reject counters do.
"""

from __future__ import annotations

import asyncio
import random

from pydantic import BaseModel, ConfigDict, Field

from discflow.agent.drivers._base import DriverSettings, MediaTiming
from discflow.agent.drivers._tasks import DiscTask, TaskDriver
from discflow.domain import CopyState
from discflow.errors import BurnFailed

__all__ = ["SimDriver", "SimOptions"]


class SimOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_scale: float = Field(1.0, ge=0)
    failure_rate: float = Field(0.0, ge=0, le=1)
    seed: int = 0
    steps: int = Field(10, ge=1)  # progress updates per phase


class SimDriver(TaskDriver):
    STATE_LOOKUP = {
        "queued": CopyState.PENDING,
        "loading": CopyState.WRITING,
        "burning": CopyState.WRITING,
        "verifying": CopyState.VERIFYING,
        "unloaded": CopyState.GOOD,
        "write-error": CopyState.FAILED_WRITE,
        "verify-error": CopyState.FAILED_VERIFY,
    }

    def __init__(self, settings: DriverSettings) -> None:
        super().__init__(settings)
        self.options = SimOptions.model_validate(dict(settings.options))
        # bandit B311 is a false alarm: a seeded failure model, reproducible on purpose
        self._random = random.Random(self.options.seed)  # nosec B311

    def _timing(self, media: str) -> MediaTiming:
        return self.settings.media.get(media, MediaTiming(write_Bps=7_800_000))

    async def _write(self, disc: DiscTask) -> None:
        order = disc.order
        timing = self._timing(order.media)
        scale = self.options.time_scale
        # draw both outcomes up front so the sequence depends only on disc order
        fails = self._random.random() < self.options.failure_rate
        fails_in_verify = order.verify and self._random.random() < 0.5
        write_s = order.size_bytes / timing.write_Bps * scale
        disc.phase = "loading"
        await asyncio.sleep(timing.overhead_s * scale / 2)
        disc.phase = "burning"
        share = 0.5 if order.verify else 1.0
        await self._advance(disc, write_s, 0.0, share)
        if fails and not fails_in_verify:
            raise BurnFailed(f"drive {order.drive}: simulated write error (power calibration)")
        if order.verify:
            disc.phase = "verifying"
            await self._advance(disc, write_s, share, 1.0)
            if fails:
                raise BurnFailed(f"drive {order.drive}: simulated read-back mismatch")
        await asyncio.sleep(timing.overhead_s * scale / 2)
        disc.phase = "unloaded"
        disc.progress = 1.0

    async def _advance(self, disc: DiscTask, seconds: float, start: float, end: float) -> None:
        steps = self.options.steps
        for step in range(1, steps + 1):
            await asyncio.sleep(seconds / steps)
            disc.progress = start + (end - start) * step / steps
