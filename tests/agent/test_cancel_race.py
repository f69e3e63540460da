"""A cancel that arrives after a disc finished but before the runner's next poll
records that disc good, not cancelled. (Found by the fault campaign: a verified
``.iso`` was on disk for a copy the agent reported as cancelled.)"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from discflow.agent import Agent
from discflow.agent._jobs import JobSpec
from discflow.domain import CopyState, JobState

from .conftest import make_config


async def test_cancel_keeps_a_disc_that_already_finished(tmp_path: Path) -> None:
    agent = Agent(make_config(tmp_path, drives=1))
    data = b"finished disc " * 20_000
    sha = hashlib.sha256(data).hexdigest()

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    await agent.cache.upload(sha, chunks(), start=0, total=len(data))
    spec = JobSpec(
        job_id="job-1",
        content_sha256=sha,
        media="CD-R",
        copies=2,
        volume_name="V",
        verify=True,
        label=None,
    )
    agent.runner.submit(spec)
    await agent.runner.step()  # the first disc starts on the only drive
    handle = next(iter(agent.runner._orders))
    for _ in range(200):  # let the driver finish it, without the runner polling
        if (await agent.driver.poll(handle)).state is JobState.DONE:
            break
        await asyncio.sleep(0.02)
    job = await agent.runner.cancel("job-1")
    assert [c.state for c in job.copies] == [CopyState.GOOD, CopyState.CANCELLED]
    media = agent.ledger.to_json()
    assert (media["CD-R"]["used_good"], media["CD-R"]["used_failed"]) == (1, 0), media
