"""The dispatcher's side of the device-agent HTTP contract.

Invariant: every failure to reach or understand an agent surfaces as
``DeviceUnavailable`` (the agent could not be asked) or ``AgentRefused`` (it
answered no, with its reason); httpx's own errors never leak past this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from discflow.errors import DeviceUnavailable, DriverError


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

    async def status(self) -> dict[str, Any]:
        response = await self._call("GET", "/v1/status")
        body: dict[str, Any] = response.json()
        return body

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

    async def submit(self, job: dict[str, Any]) -> dict[str, Any]:
        response = await self._call("POST", "/v1/jobs", json=job)
        body: dict[str, Any] = response.json()
        return body

    async def job(self, job_id: str) -> dict[str, Any] | None:
        response = await self._call("GET", f"/v1/jobs/{job_id}")
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def cancel(self, job_id: str) -> None:
        await self._call("POST", f"/v1/jobs/{job_id}/cancel")

    async def add_media(self, media: str, count: int) -> dict[str, Any]:
        response = await self._call("POST", "/v1/media", json={"media": media, "count": count})
        body: dict[str, Any] = response.json()
        return body


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
