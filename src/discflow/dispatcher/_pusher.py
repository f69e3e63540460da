"""Per device: evict, push content into its cache, hand it write commands.

Invariants: one worker task per device sends that device's work in the order
it was planned; a job leaves ``pending`` only when its agent accepted it (the
job id makes a resent command harmless); only jobs this dispatcher leases are
sent. A content is uploaded from where a previous, interrupted upload stopped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from discflow import store
from discflow.archive import BlobStore
from discflow.coordinator import Coordinator
from discflow.dispatcher._client import AgentClient, AgentRefused
from discflow.dispatcher._snapshot import Upload
from discflow.domain import DispatchReason, DispatchState
from discflow.errors import DeviceUnavailable, DiscflowError
from discflow.protocol import JobCreate
from discflow.store import Database, Job, Request, SettlePolicy

log = logging.getLogger("discflow.dispatcher")

_ASSUMED_LINK_BPS = 50_000_000  # until the record says otherwise, for upload estimates
_IDLE_LOOK_S = 60.0  # a worker is woken for new work; this is only a safety net
_UPLOAD_TRIES = 3  # per content and command: room made, or bytes resent after a bad hash


@dataclass
class DeviceLink:
    client: AgentClient
    token_hash: str  # the stored digest: compared each round without unsealing the token
    address: str
    loop: Coordinator | None = None  # this device's worker: one push at a time, in order
    uploads: dict[str, Upload] = field(default_factory=dict)
    evictions: list[str] = field(default_factory=list)


class Pusher:
    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        *,
        owner: str,
        clock: Callable[[], float],
        policy: SettlePolicy,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.owner = owner
        self.clock = clock
        self.policy = policy
        self.links: dict[str, DeviceLink] = {}

    def refresh(self) -> None:
        """One link per enrolled device; rebuilt when its address or token changes.

        Tokens are compared by their stored digest: unsealing one costs a key
        derivation, so it is done only when a link is (re)built."""
        with self.database.transaction() as session:
            # three columns a device, not its media and cache rows: this runs every round
            for name, token_hash, address in store.device_addresses(session):
                if token_hash is None:
                    continue
                link = self.links.get(name)
                if link is not None and link.token_hash == token_hash and link.address == address:
                    continue
                device = session.get(store.Device, name)
                token = device.agent_token if device is not None else None
                if token is None:
                    continue
                if link is not None and link.loop is not None:
                    link.loop.cancel()
                self.links[name] = DeviceLink(
                    client=AgentClient(name=name, base_url=address, token=token),
                    token_hash=token_hash,
                    address=address,
                )

    def kick(self) -> None:
        """Make sure every device has its worker, and wake the ones with work to send.

        One query finds the devices with pending jobs this dispatcher leases (or
        with evictions planned): with M dispatchers on one floor, waking every
        worker would cost each round M x devices look-ups that find nothing."""
        with self.database.transaction() as session:
            waiting = store.devices_with_pending_jobs(session, owner=self.owner)
        for name, link in self.links.items():
            if link.loop is None:
                link.loop = Coordinator(
                    f"push:{name}",
                    functools.partial(self._push, name, link),
                    interval=_IDLE_LOOK_S,
                    retry_s=0.25,  # 0.5 s after the first failure, doubling up to 10 s
                    max_backoff=10.0,
                    logger=log,
                    expected=(DiscflowError,),
                )
            link.loop.start()
            if name in waiting or link.evictions:
                link.loop.wake()

    async def close(self) -> None:
        for link in self.links.values():
            if link.loop is not None:
                await link.loop.stop()
            await link.client.close()
        self.links.clear()

    async def _make_room(self, link: DeviceLink, *, keep: str, need: int) -> None:
        """Evict least recently used contents that no active job here needs."""
        with self.database.transaction() as session:
            wanted = {keep} | {
                request.content.sha256
                for job in store.active_jobs(session, device=link.client.name)
                if (request := session.get(Request, job.request_id)) is not None
            }
        status = await link.client.status()
        free = status.cache_free_bytes
        idle = sorted(
            (e for e in status.cache if e.sha256 not in wanted), key=lambda e: e.last_used
        )
        for entry in idle:
            if free >= need:
                return
            try:
                await link.client.evict(entry.sha256)
            except AgentRefused:
                continue  # in use after all
            free += entry.size_bytes

    async def _push(self, name: str, link: DeviceLink) -> None:
        while link.evictions:
            sha = link.evictions[0]
            try:
                await link.client.evict(sha)
            except AgentRefused as error:
                log.info("%s kept %s: %s", name, sha[:12], error)
            link.evictions.pop(0)
        while (work := self._next_command(name)) is not None:
            command, size = work
            try:
                await self._ensure_cached(link, command.content_sha256, size)
            except AgentRefused as error:
                # no room even after evicting, or the bytes keep arriving damaged: give the
                # copies back to the planner rather than retry this device forever
                self._refused(
                    command.job_id,
                    f"{name} cannot take the content: {error}",
                    DispatchReason.DOCUMENT_ACCESS_ERROR,
                )
                continue
            try:
                answer = await link.client.submit(command)
            except AgentRefused as error:
                self._refused(
                    command.job_id, f"{name} refused the job: {error}", DispatchReason.JOB_REFUSED
                )
                continue
            with self.database.transaction() as session:
                row = session.get(Job, command.job_id)
                if row is not None and store.job_state(row) is DispatchState.PENDING:
                    store.apply_agent_report(session, row.id, answer, self.policy)
                    store.accept_job(row)

    def _next_command(self, device: str) -> tuple[JobCreate, int] | None:
        with self.database.transaction() as session:
            return store.next_command(session, device=device, owner=self.owner)

    def _refused(self, job_id: str, error: str, reason: DispatchReason) -> None:
        with self.database.transaction() as session:
            store.refuse_job(session, job_id, self.policy, error=error, reason=reason)

    async def _ensure_cached(self, link: DeviceLink, sha: str, size: int) -> None:
        complete, have = await link.client.cached_bytes(sha)
        if complete:
            return
        eta = self.clock() + (size - have) / _ASSUMED_LINK_BPS
        link.uploads[sha] = Upload(sha256=sha, size_bytes=size, ready_s=eta)
        try:
            for attempt in range(_UPLOAD_TRIES):
                try:
                    await link.client.upload(
                        sha, total=size, offset=have, chunks=self.blobs.open_range(sha, have)
                    )
                    break
                except AgentRefused as error:
                    last = attempt == _UPLOAD_TRIES - 1
                    if error.status == 507 and not last:
                        await self._make_room(link, keep=sha, need=size - have)
                    elif error.status == 409:  # an upload cut short is still closing
                        raise DeviceUnavailable(f"{link.client.name}: {error}") from error
                    elif error.status == 422 and not last:
                        # the agent dropped bytes that did not hash right: send all again
                        log.warning("%s: upload of %s refused: %s", link.client.name, sha, error)
                        have = 0
                    else:
                        raise
        finally:
            link.uploads.pop(sha, None)
        with self.database.transaction() as session:
            store.record(
                session,
                "content.pushed",
                f"{size - have} bytes of {sha[:12]} sent to {link.client.name}",
                device=link.client.name,
                data={"sha256": sha, "resumed_at": have},
            )
