"""The agent as one object: cache, blanks, jobs, driver, heartbeats, enrolment.

Invariants: ``start()`` restores state before anything runs (so a restarted
agent reports interrupted jobs at once); three coordinators run the job loop,
the device-status poll and the heartbeats, each with its own backoff, so a
missing server never stops burning; the heartbeat body is exactly the JSON of
``GET /v1/status``; an enrolled token is stored with mode 0600.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import httpx

from discflow.agent._cache import ContentCache
from discflow.agent._config import AgentConfig
from discflow.agent._jobs import JobRunner
from discflow.agent._media import MediaLedger
from discflow.agent._state import StateFile
from discflow.agent.drivers import DeviceReport, Driver, DriverSettings, create_driver
from discflow.coordinator import Coordinator
from discflow.domain import (
    Availability,
    DeviceReason,
    DeviceStateReason,
    ReasonSeverity,
    can_burn,
)
from discflow.errors import DeviceUnavailable, PermissionDenied
from discflow.protocol import AgentStatus

__all__ = ["Agent"]

_log = logging.getLogger("discflow.agent")


class Agent:
    def __init__(self, config: AgentConfig, *, driver: Driver | None = None) -> None:
        self.config = config
        self.cache = ContentCache(config.cache_dir, capacity=config.cache_bytes)
        self.state = StateFile(config.state_path)
        saved = self.state.load()
        self.ledger = MediaLedger(
            {name: bin_.loaded for name, bin_ in config.media.items()}, saved.get("media")
        )
        settings = DriverSettings(
            device_name=config.name,
            drives=config.drives,
            options=config.driver_options,
            media={name: bin_.timing() for name, bin_ in config.media.items()},
            work_dir=config.cache_dir / ".driver",
        )
        self.driver = driver or create_driver(config.driver, settings)
        self.runner = JobRunner(
            driver=self.driver,
            cache=self.cache,
            ledger=self.ledger,
            state=self.state,
            drives=config.drives,
            retry_limit=config.retry_limit,
            on_change=self._changed,
        )
        self.runner.restore(saved)
        self.device = DeviceReport(ok=True, message="starting")
        self.token: str | None = config.token or self._read_token_file()
        self.jobs_loop = Coordinator("job loop", self.runner.step, interval=config.poll_s)
        self.device_loop = Coordinator(
            "device status", self._poll_device, interval=config.status_poll_s
        )
        self.heartbeat = Coordinator(
            "heartbeat", self._send_heartbeat, interval=config.heartbeat_s, max_backoff=60.0
        )
        self._client: httpx.AsyncClient | None = None

    # ---- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=10.0)
        if self.token is None and self.config.enrol_code:
            await self.enrol()
        self.jobs_loop.start()
        self.device_loop.start()
        if self.config.server_url:
            self.heartbeat.start()

    async def stop(self) -> None:
        for loop in (self.heartbeat, self.device_loop, self.jobs_loop):
            await loop.stop()
        await self.runner.close()
        await self.driver.close()
        self.cache.close()
        if self._client is not None:
            await self._client.aclose()

    def _changed(self) -> None:
        self.heartbeat.wake()

    # ---- auth ---------------------------------------------------------------------

    def _read_token_file(self) -> str | None:
        path = self.config.token_file
        if path is None:
            return None
        try:
            token = path.read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        return token or None

    async def enrol(self) -> None:
        """Exchange the one-time ``enrol_code`` for a token and keep it in ``token_file``."""
        assert self.config.server_url and self.config.token_file and self.config.enrol_code
        assert self._client is not None
        url = f"{self.config.server_url.rstrip('/')}/api/v1/agents/enrol"
        body = {
            "code": self.config.enrol_code,
            "name": self.config.name,
            "address": self.config.address,
        }
        try:
            response = await self._client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise DeviceUnavailable(f"cannot reach {url} to enrol: {exc}") from exc
        if response.status_code >= 400:
            raise PermissionDenied(
                f"the server refused enrolment ({response.status_code}): {response.text[:200]}; "
                "ask an operator for a new enrol code"
            )
        token = str(response.json()["token"])
        _write_secret(self.config.token_file, token)
        self.token = token
        _log.info("enrolled with %s", self.config.server_url)

    # ---- status and heartbeats ---------------------------------------------------

    async def _poll_device(self) -> None:
        before = self.device
        try:
            self.device = await self.driver.device_status()
        except DeviceUnavailable as exc:
            self.device = DeviceReport(
                ok=False,
                message=str(exc),
                reasons=(
                    DeviceReason(
                        DeviceStateReason.OFFLINE,
                        ReasonSeverity.ERROR,
                        f"{self.config.name}: {exc}",
                    ),
                ),
            )
            raise
        finally:
            if self.device.reasons != before.reasons:
                self.heartbeat.wake()  # the floor learns of a new reason at once

    def availability(self) -> Availability:
        if not self.device.ok or not can_burn(list(self.device.reasons)):
            return Availability.ERROR
        if self.runner.paused():
            return Availability.PAUSED
        if self.runner.busy():
            return Availability.BUSY
        return Availability.ONLINE

    def status(self) -> AgentStatus:
        media = []
        counted_at = time.time()  # every bin below is read now
        for name in self.ledger.media():
            counts = self.ledger.counts(name)
            bin_ = self.config.media.get(name)
            media.append(
                {
                    "media": name,
                    "loaded": counts.remaining,
                    "write_Bps": bin_.write_Bps if bin_ else 0,
                    "overhead_s": bin_.overhead_s if bin_ else 0.0,
                    "low_threshold": bin_.low_threshold if bin_ else 0,
                    **counts.to_json(),
                    "counted_at": counted_at,
                }
            )
        return AgentStatus.model_validate(
            {
                "name": self.config.name,
                "driver": self.config.driver,
                "address": self.config.address,
                "availability": self.availability(),
                "drives": self.runner.drive_states(),
                "media": media,
                "cache": [
                    {"sha256": e.sha256, "size_bytes": e.size_bytes, "last_used": e.last_used}
                    for e in self.cache.entries()
                ],
                "cache_capacity_bytes": self.cache.capacity,
                "cache_free_bytes": self.cache.free_bytes,
                "link_Bps": self.config.link_Bps,
                "jobs": [{"job_id": j.job_id, "state": j.state} for j in self.runner.jobs.values()],
                "device_message": self.device.message,
                "reasons": [
                    {
                        "reason": r.reason,
                        "severity": r.severity,
                        "message": r.message[:500],  # the protocol's bounds
                        "detail": r.detail[:100],
                    }
                    for r in self.device.reasons
                ],
            }
        )

    async def _send_heartbeat(self) -> None:
        assert self.config.server_url and self._client is not None
        url = f"{self.config.server_url.rstrip('/')}/api/v1/devices/{self.config.name}/heartbeat"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = self.status().model_dump(mode="json")
        response = await self._client.post(url, json=body, headers=headers)
        if response.status_code >= 400:
            raise DeviceUnavailable(f"server answered {response.status_code} to the heartbeat")


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secret.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
