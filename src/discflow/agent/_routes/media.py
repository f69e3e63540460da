"""``/v1/media``: the operator loaded (or took out) blanks."""

from __future__ import annotations

import time

from fastapi import APIRouter

from discflow.agent._routes._deps import AUTH, AgentDep
from discflow.errors import InvalidInput
from discflow.protocol import MediaAdd, MediaOut

router = APIRouter(prefix="/v1/media", tags=["media"], dependencies=AUTH)


@router.post("", response_model=MediaOut)
async def media_add(body: MediaAdd, agent: AgentDep) -> MediaOut:
    config = agent.config
    if body.media not in config.media:
        writes = ", ".join(sorted(config.media)) or "nothing yet"
        raise InvalidInput(
            f"{config.name} has no {body.media} bin (it writes {writes}); "
            f"add [media.{body.media}] to its config first"
        )
    counts = agent.ledger.add(body.media, body.count)
    agent.runner.media_added()
    agent.jobs_loop.wake()
    bin_ = config.media.get(body.media)
    return MediaOut(
        media=body.media,
        loaded=counts.remaining,
        write_Bps=bin_.write_Bps if bin_ else 0,
        overhead_s=bin_.overhead_s if bin_ else 0.0,
        low_threshold=bin_.low_threshold if bin_ else 0,
        **counts.to_json(),
        counted_at=time.time(),
    )
