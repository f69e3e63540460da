"""The dispatcher's side of the device-agent HTTP contract.

Invariant: every failure to reach or understand an agent surfaces as
``DeviceUnavailable`` (the agent could not be asked, or answered something
that is not ``discflow.protocol``) or ``AgentRefused`` (it answered no, with
its reason); httpx's and pydantic's own errors never leak past this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from discflow.errors import DeviceUnavailable, DriverError
from discflow.protocol import AgentStatus, JobCreate, JobOut, MediaAdd, MediaOut

_M = TypeVar("_M", bound=BaseModel)


class AgentRefused(DriverError):
    """The agent answered with a 4xx: the request was understood and refused."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class AgentClient:
    """Talks to one device agent."""

    def __init__(self, *, name: str, base_url: str, token: str, timeout_s: float = 10.0) -> None:
        self.name = name
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout_s, write=120.0),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise DeviceUnavailable(f"{self.name} cannot be reached: {error!r}") from error
        if response.status_code == 507:  # the cache is full: understood and refused
            raise AgentRefused(507, _detail(response))
        if response.status_code >= 500:
            raise DeviceUnavailable(f"{self.name} failed: {response.status_code} {response.text}")
        if response.status_code >= 400 and response.status_code != 404:
            raise AgentRefused(response.status_code, _detail(response))
        return response

    def _parse(self, model: type[_M], response: httpx.Response) -> _M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise DeviceUnavailable(
                f"{self.name} answered {response.request.url.path} with something that is not "
                f"a {model.__name__}: {error.errors()[:1]}"
            ) from error

    async def status(self) -> AgentStatus:
        return self._parse(AgentStatus, await self._call("GET", "/v1/status"))

    async def cached_bytes(self, sha256: str) -> tuple[bool, int]:
        """(complete, bytes already held) for a content, so an upload can resume."""
        response = await self._call("HEAD", f"/v1/cache/{sha256}")
        if response.status_code == 200:
            return True, int(response.headers.get("content-length", "0"))
        return False, int(response.headers.get("upload-offset", "0"))

    async def upload(
        self, sha256: str, *, total: int, chunks: Iterator[bytes], offset: int = 0
    ) -> None:
        """Send bytes ``[offset, total)`` of a content; the agent checks the hash at the end."""

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(total - offset),
        }
        if offset:
            headers["Content-Range"] = f"bytes {offset}-{total - 1}/{total}"
        response = await self._call("PUT", f"/v1/cache/{sha256}", content=body(), headers=headers)
        if response.status_code == 404:
            raise AgentRefused(404, _detail(response))

    async def evict(self, sha256: str) -> None:
        await self._call("DELETE", f"/v1/cache/{sha256}")

    async def submit(self, job: JobCreate) -> JobOut:
        response = await self._call("POST", "/v1/jobs", json=job.model_dump(mode="json"))
        if response.status_code == 404:
            raise AgentRefused(404, _detail(response))
        return self._parse(JobOut, response)

    async def job(self, job_id: str) -> JobOut | None:
        """The agent's view of a job; None when it does not know the job."""
        response = await self._call("GET", f"/v1/jobs/{job_id}")
        if response.status_code == 404:
            return None
        return self._parse(JobOut, response)

    async def cancel(self, job_id: str) -> None:
        await self._call("POST", f"/v1/jobs/{job_id}/cancel")

    async def add_media(self, media: str, count: int) -> MediaOut:
        body = MediaAdd(media=media, count=count).model_dump(mode="json")
        return self._parse(MediaOut, await self._call("POST", "/v1/media", json=body))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
