"""``/v1/cache/{sha256}``: the content cache, with resumable uploads.

Upload and resume protocol for ``/v1/cache/{sha256}`` (what this agent chose):

- ``PUT`` with ``Content-Length: N`` and no ``Content-Range`` starts a fresh
  upload of an N-byte content (an earlier partial upload is discarded).
- ``HEAD`` answers ``200`` with ``Content-Length`` when the content is cached;
  otherwise ``404`` with ``Upload-Offset: <bytes held>`` and, when known,
  ``Upload-Length: <total>``. ``GET /v1/cache/{sha256}/partial`` gives the same
  as JSON: ``{"sha256", "complete", "received_bytes", "total_bytes"}``.
- ``PUT`` with ``Content-Range: bytes START-END/TOTAL`` continues an upload;
  ``START`` must equal the bytes held (else ``409`` with ``Upload-Offset``).
- ``201`` when the content is complete and its sha256 matched; ``422`` on a
  hash mismatch (the partial bytes are dropped); ``507`` when the upload
  would exceed the cache capacity; an upload cut short keeps its bytes.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from discflow.agent._errors import Conflict
from discflow.agent._routes._deps import AUTH, AgentDep
from discflow.domain import check_sha256
from discflow.errors import InvalidInput
from discflow.protocol import CacheEntryOut, PartialOut

router = APIRouter(prefix="/v1/cache", tags=["cache"], dependencies=AUTH)

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


@router.get("", response_model=list[CacheEntryOut])
async def cache_list(agent: AgentDep) -> list[CacheEntryOut]:
    return [
        CacheEntryOut(sha256=e.sha256, size_bytes=e.size_bytes, last_used=e.last_used)
        for e in agent.cache.entries()
    ]


_OFFSET = {"Upload-Offset": {"schema": {"type": "integer"}, "description": "bytes held"}}
CACHE_HEAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "cached whole; Content-Length is its size",
        "content": {"application/octet-stream": {}},
        "headers": _OFFSET,
    },
    404: {
        "description": "not cached: Upload-Offset says how much a partial upload holds",
        "content": {"application/json": {}},
        "headers": {
            **_OFFSET,
            "Upload-Length": {"schema": {"type": "integer"}, "description": "when known"},
        },
    },
}


@router.head("/{sha256}", responses=CACHE_HEAD_RESPONSES)
async def cache_head(sha256: str, agent: AgentDep) -> Response:
    check_sha256(sha256)
    if agent.cache.has(sha256):
        return Response(
            status_code=200,
            media_type="application/octet-stream",  # what the content's bytes are
            headers={
                "Content-Length": str(agent.cache.size(sha256)),
                "Upload-Offset": str(agent.cache.size(sha256)),
            },
        )
    held = agent.cache.partial(sha256)
    headers = {"Upload-Offset": str(held.received if held else 0)}
    if held is not None and held.total is not None:
        headers["Upload-Length"] = str(held.total)
    return Response(status_code=404, headers=headers, media_type="application/json")


@router.get("/{sha256}/partial", response_model=PartialOut)
async def cache_partial(sha256: str, agent: AgentDep) -> PartialOut:
    check_sha256(sha256)
    if agent.cache.has(sha256):
        size = agent.cache.size(sha256)
        return PartialOut(sha256=sha256, complete=True, received_bytes=size, total_bytes=size)
    held = agent.cache.partial(sha256)
    return PartialOut(
        sha256=sha256,
        complete=False,
        received_bytes=held.received if held else 0,
        total_bytes=held.total if held else None,
    )


@router.put("/{sha256}", status_code=201, response_model=CacheEntryOut)
async def cache_put(sha256: str, request: Request, agent: AgentDep) -> CacheEntryOut | JSONResponse:
    check_sha256(sha256)
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise InvalidInput("send Content-Length: the agent reserves cache space up front")
    start, total = 0, int(length)
    content_range = request.headers.get("content-range")
    if content_range:
        match = _RANGE.match(content_range.strip())
        if not match:
            raise InvalidInput(f"Content-Range {content_range!r} is not 'bytes START-END/TOTAL'")
        start, end, total = (int(g) for g in match.groups())
        if end - start + 1 != int(length) or end >= total:
            raise InvalidInput(
                f"Content-Range {content_range!r} does not match Content-Length {length}"
            )
    if agent.cache.has(sha256):
        entry = next(e for e in agent.cache.entries() if e.sha256 == sha256)
        return JSONResponse(
            CacheEntryOut(
                sha256=sha256, size_bytes=entry.size_bytes, last_used=entry.last_used
            ).model_dump(),
            status_code=200,
        )
    try:
        entry = await agent.cache.upload(sha256, request.stream(), start=start, total=total)
    except ClientDisconnect:
        held = agent.cache.partial(sha256)
        raise InvalidInput(
            f"the client went away after {held.received if held else 0} bytes; resume it"
        ) from None
    except Conflict as exc:
        held = agent.cache.partial(sha256)
        return JSONResponse(
            {"detail": str(exc)},
            status_code=409,
            headers={"Upload-Offset": str(held.received if held else 0)},
        )
    agent.heartbeat.wake()
    return CacheEntryOut(
        sha256=entry.sha256, size_bytes=entry.size_bytes, last_used=entry.last_used
    )


@router.delete("/{sha256}", status_code=204)
async def cache_delete(sha256: str, agent: AgentDep) -> Response:
    agent.cache.delete(sha256)
    agent.heartbeat.wake()
    return Response(status_code=204)
