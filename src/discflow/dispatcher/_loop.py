"""The dispatcher: each time something changes, one round of small steps.

Invariants:
- Every decision is written to the store (job row, request transition, event)
  in one transaction *before* the agent is told, and the job id is the agent's
  idempotency key: a dispatcher killed at any point resumes from the store and
  the agents without burning anything twice.
- Any number of dispatchers may share one database. Each device belongs to a
  site; the holder of a site's ``planner:<site>`` lease plans that site's
  devices (``_sites``: how dispatchers share the sites). The holder of the one
  ``planner`` lease (its name kept from before sites, so a dispatcher of either
  age never runs it twice) watches the floor, rechecks lost jobs, prints labels
  and sends webhooks. Every dispatcher follows and pushes only the jobs it
  leases, and takes over jobs whose lease ran out (their dispatcher died).
- Inside ``discflow serve`` the dispatcher runs on a thread of its own with its
  own event loop (``DispatcherThread``): its database work and planning never
  run on the loop that serves requests, so no request waits behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Collection

from sqlalchemy.orm import Session

from discflow import store
from discflow.archive import BlobStore
from discflow.coordinator import Coordinator
from discflow.dispatcher._floor import Floor
from discflow.dispatcher._follow import cancel_withdrawn, follow_jobs, recheck_lost
from discflow.dispatcher._planner import Planner
from discflow.dispatcher._printing import label_format, print_pending, printer_from_setting
from discflow.dispatcher._pusher import Pusher
from discflow.dispatcher._settings import DispatcherSettings
from discflow.dispatcher._sites import FLOOR_LEASE, SiteLeases
from discflow.errors import DiscflowError
from discflow.protocol import JobOut
from discflow.store import ChangeFeed, Database, SettlePolicy

log = logging.getLogger("discflow.dispatcher")


class Dispatcher:
    """Runs inside ``discflow serve`` (on a ``DispatcherThread``) or alone as
    ``discflow dispatch``."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        settings: DispatcherSettings | None = None,
        *,
        owner: str | None = None,
        sites: Collection[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.settings = settings or DispatcherSettings()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.printer = printer_from_setting(
            self.settings.label_printer, data_dir=self.settings.data_dir
        )
        self.policy = SettlePolicy(
            max_failed_discs=self.settings.max_failed_discs,
            printer=self.printer.name,
            label_sheet=self.settings.label_sheet,
        )
        self.floor = Floor(database, self.settings, self.policy)
        self.pusher = Pusher(database, blobs, owner=self.owner, clock=clock, policy=self.policy)
        self.planner = Planner(
            database,
            self.settings,
            owner=self.owner,
            clock=clock,
            links=self.pusher.links,
            floor=self.floor,
        )
        self.feed = ChangeFeed(database)
        self.site_leases = SiteLeases(owner=self.owner, ttl_s=self.settings.lease_s, sites=sites)
        self.leader = False  # holds the floor's lease
        self.sites: set[str] = set()  # the sites it plans this round
        self._round_began = 0.0
        self._renewed_at = -math.inf  # the first round renews
        self.followed: dict[str, JobOut] = {}  # job -> the agent's last report recorded
        # a failed round (a bug, a database refusal) is logged and the next one follows
        # at the usual pace: the floor must not stop
        self.rounds = Coordinator(
            "dispatch round",
            self.tick,
            interval=self.settings.idle_poll_s,
            max_backoff=self.settings.idle_poll_s,
            logger=log,
            expected=(DiscflowError,),
            pause=self._sleep_until_change,
        )

    # -- running -------------------------------------------------------------

    def wake(self) -> None:
        """Something changed (a request arrived, a device reported): plan again now.

        Safe to call from any thread (the server's request handlers do)."""
        self.rounds.wake()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("dispatcher %s started", self.owner)
        try:
            await self.rounds.run(stop)
        finally:
            await self.close()

    async def _sleep_until_change(self, delay: float) -> None:
        """Until woken, the task log grew (another process changed something), or ``delay``."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if self.rounds.woken or await self.feed.changed(timeout=0.1):
                break
            if not self.feed.listens and await self.rounds.wait_for_wake(0.2):
                break
        # one round per burst: the changes heard within ``round_gap_s`` of the last
        # round's start wait for the gap, then one round reads them all
        spare = self._round_began + self.settings.round_gap_s - time.monotonic()
        if spare > 0:
            await asyncio.sleep(spare)
        await self.feed.settle()

    async def close(self) -> None:
        await self.pusher.close()
        await self.feed.close()
        with self.database.transaction() as session:
            self.site_leases.release(session)
            if self.leader:
                store.release_lease(session, FLOOR_LEASE, owner=self.owner)

    # -- one round -----------------------------------------------------------

    def _holds_the_floor(self, session: Session) -> bool:
        """Renew the floor's lease now: a round may outlast the renewal at its start."""
        self.leader = store.acquire_lease(
            session, FLOOR_LEASE, owner=self.owner, ttl_s=self.settings.lease_s
        )
        return self.leader

    async def tick(self) -> None:
        self._round_began = time.monotonic()
        # leases are renewed five times per lease_s, not every round: a round follows
        # every burst of changes, and each renewal is several statements; a lease
        # renewed then holds for lease_s, four fifths of it spare
        if self._round_began - self._renewed_at >= self.settings.lease_s / 5:
            with self.database.transaction() as session:
                self.leader = store.acquire_lease(
                    session, FLOOR_LEASE, owner=self.owner, ttl_s=self.settings.lease_s
                )
                self.sites = self.site_leases.renew(session)
                store.claim_jobs(
                    session,
                    owner=self.owner,
                    lease_s=self.settings.lease_s,
                    active=store.JOB_ACTIVE,
                )
            self._renewed_at = self._round_began
        self.pusher.refresh()
        links = self.pusher.links
        await follow_jobs(
            self.database, links, owner=self.owner, policy=self.policy, applied=self.followed
        )
        await cancel_withdrawn(self.database, links, owner=self.owner, policy=self.policy)
        if self.leader:
            self.floor.watch()
            await recheck_lost(self.database, links, policy=self.policy)
        if self.sites:
            self.planner.plan_and_assign(self.sites)
        if self.leader:
            await print_pending(
                self.database,
                self.printer,
                fmt=label_format(self.settings.label_format),
                batch=self.settings.label_mode == "batch",
                fence=self._holds_the_floor,
            )
            await self.floor.stop_failing_jobs(self.pusher.links)
            await self.floor.flush_webhooks()
        self.pusher.kick()


class DispatcherThread:
    """A dispatcher on a thread of its own, with its own event loop.

    ``start()`` returns at once; ``stop()`` asks the dispatcher to finish its
    round, close its links and leases, and waits for the thread."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.dispatcher.run(self._stop)

        asyncio.run(main())

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
