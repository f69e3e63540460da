"""The agent's HTTP API (FastAPI). Thin routes; the ``Agent`` does the work.

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

Invariants: every ``/v1`` route needs ``Authorization: Bearer <token>``;
errors are ``{"detail": "..."}`` with a message that says how to fix them.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from discflow import __version__
from discflow.agent._agent import Agent
from discflow.agent._config import AgentConfig
from discflow.agent._errors import CacheFull, Conflict, HashMismatch
from discflow.agent._jobs import JobSpec
from discflow.agent.drivers import Driver
from discflow.domain import check_sha256, media_type
from discflow.errors import (
    DiscflowError,
    DriverError,
    InvalidInput,
    MediaExhausted,
    NotFound,
    PermissionDenied,
)
from discflow.protocol import (
    AgentStatus,
    CacheEntryOut,
    JobBrief,
    JobCreate,
    JobOut,
    MediaAdd,
    MediaOut,
    PartialOut,
)

__all__ = ["create_agent_app"]

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_STATUS: tuple[tuple[type[DiscflowError], int], ...] = (
    (CacheFull, 507),
    (HashMismatch, 422),
    (Conflict, 409),
    (MediaExhausted, 409),
    (NotFound, 404),
    (PermissionDenied, 403),
    (InvalidInput, 422),
    (DriverError, 503),
)


_PLAIN_ERROR = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}


def _document_plain_errors(app: FastAPI) -> None:
    """The spec says what the handlers send: one ``detail`` sentence, 422 included."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            schemas["HTTPValidationError"] = _PLAIN_ERROR
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


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


def create_agent_app(config: AgentConfig, *, driver: Driver | None = None) -> FastAPI:
    """An ASGI app for one agent; many can live in one process (load tests)."""
    agent = Agent(config, driver=driver)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.stop()

    app = FastAPI(
        title=f"discflow device agent {config.name}",
        version=__version__,
        lifespan=lifespan,
        description="Content cache, blank media and write jobs of one output device.",
    )
    app.state.agent = agent

    @app.exception_handler(DiscflowError)
    async def _discflow_error(_request: Request, exc: DiscflowError) -> JSONResponse:
        code = next((c for kind, c in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
            f"{e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        ]
        return JSONResponse({"detail": "; ".join(parts)}, status_code=422)

    _document_plain_errors(app)

    def authorized(authorization: Annotated[str | None, Header()] = None) -> None:
        if agent.token is None:
            raise HTTPException(503, "this agent has no token yet: enrol it or set 'token'")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), agent.token):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    auth = [Depends(authorized)]

    @app.get("/v1/health", tags=["status"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "name": config.name}

    @app.get("/v1/status", response_model=AgentStatus, dependencies=auth, tags=["status"])
    async def status() -> AgentStatus:
        return agent.status()

    # ---- cache ------------------------------------------------------------------

    @app.get("/v1/cache", response_model=list[CacheEntryOut], dependencies=auth, tags=["cache"])
    async def cache_list() -> list[CacheEntryOut]:
        return [
            CacheEntryOut(sha256=e.sha256, size_bytes=e.size_bytes, last_used=e.last_used)
            for e in agent.cache.entries()
        ]

    @app.head(
        "/v1/cache/{sha256}", dependencies=auth, tags=["cache"], responses=CACHE_HEAD_RESPONSES
    )
    async def cache_head(sha256: str) -> Response:
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

    @app.get(
        "/v1/cache/{sha256}/partial", response_model=PartialOut, dependencies=auth, tags=["cache"]
    )
    async def cache_partial(sha256: str) -> PartialOut:
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

    @app.put(
        "/v1/cache/{sha256}",
        status_code=201,
        response_model=CacheEntryOut,
        dependencies=auth,
        tags=["cache"],
    )
    async def cache_put(sha256: str, request: Request) -> CacheEntryOut | JSONResponse:
        check_sha256(sha256)
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise InvalidInput("send Content-Length: the agent reserves cache space up front")
        start, total = 0, int(length)
        content_range = request.headers.get("content-range")
        if content_range:
            match = _RANGE.match(content_range.strip())
            if not match:
                raise InvalidInput(
                    f"Content-Range {content_range!r} is not 'bytes START-END/TOTAL'"
                )
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

    @app.delete("/v1/cache/{sha256}", status_code=204, dependencies=auth, tags=["cache"])
    async def cache_delete(sha256: str) -> Response:
        agent.cache.delete(sha256)
        agent.heartbeat.wake()
        return Response(status_code=204)

    # ---- jobs ----------------------------------------------------------------------

    def job_out(job_id: str) -> JobOut:
        return JobOut.model_validate(agent.runner.job(job_id).to_json())

    @app.post("/v1/jobs", status_code=201, response_model=JobOut, dependencies=auth, tags=["jobs"])
    async def job_create(body: JobCreate, response: Response) -> JobOut:
        known = body.job_id in agent.runner.jobs
        size = 0 if known else agent.cache.size(body.content_sha256)
        capacity = media_type(body.media).capacity_bytes
        if size > capacity:
            raise InvalidInput(
                f"content {body.content_sha256[:12]}... is {size} bytes; {body.media} holds "
                f"{capacity}"
            )
        spec = JobSpec(
            job_id=body.job_id,
            content_sha256=body.content_sha256,
            media=body.media,
            copies=body.copies,
            volume_name=body.volume_name,
            verify=body.verify,
            label=body.label.as_mapping() if body.label is not None else None,
        )
        job, created = agent.runner.submit(spec)
        if not created:
            response.status_code = 200
        agent.jobs_loop.wake()
        return job_out(job.job_id)

    @app.get("/v1/jobs", response_model=list[JobBrief], dependencies=auth, tags=["jobs"])
    async def job_list() -> list[JobBrief]:
        return [JobBrief(job_id=j.job_id, state=j.state) for j in agent.runner.jobs.values()]

    @app.get("/v1/jobs/{job_id}", response_model=JobOut, dependencies=auth, tags=["jobs"])
    async def job_get(job_id: str) -> JobOut:
        return job_out(job_id)

    @app.post("/v1/jobs/{job_id}/cancel", response_model=JobOut, dependencies=auth, tags=["jobs"])
    async def job_cancel(job_id: str) -> JobOut:
        await agent.runner.cancel(job_id)
        return job_out(job_id)

    # ---- media -----------------------------------------------------------------------

    @app.post("/v1/media", response_model=MediaOut, dependencies=auth, tags=["media"])
    async def media_add(body: MediaAdd) -> MediaOut:
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
        )

    return app
