"""Planning (a site's lease holder): the store's open work -> ``scheduler.plan_discflow`` -> jobs.

Invariants:
- The snapshot, the plan and every job it creates are one transaction, and a
  job exists (``pending``) before any agent hears of it.
- A planner plans the pooled requests (any site's) onto the devices of the
  sites it holds, only. Planners of other sites plan the same requests at the
  same time: the requests a plan binds are claimed (``store.claim_requests``)
  before its jobs are written, and an assignment is cut to the copies still
  unplanned, so two plans never both hand out the same copies.
- "No device can take this request" needs every device in view: only a
  planner holding every site records it (others cannot tell).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from discflow import store
from discflow.dispatcher._floor import Floor
from discflow.dispatcher._pusher import DeviceLink
from discflow.dispatcher._settings import DispatcherSettings
from discflow.dispatcher._snapshot import device_view, snapshot
from discflow.scheduler import DeviceView, OperatorSettings, Plan, plan_discflow
from discflow.store import Database, Job, Request


class Planner:
    def __init__(
        self,
        database: Database,
        settings: DispatcherSettings,
        *,
        owner: str,
        clock: Callable[[], float],
        links: Mapping[str, DeviceLink],
        floor: Floor,
    ) -> None:
        self.database = database
        self.settings = settings
        self.owner = owner
        self.clock = clock
        self.links = links
        self.floor = floor

    def plan_and_assign(self, sites: Collection[str]) -> None:
        """Plan the open requests onto the devices of ``sites``."""
        now = self.clock()
        with self.database.transaction() as session:
            every_site = set(sites) >= set(store.device_sites(session))
            requests = store.open_requests(session)
            open_jobs = store.active_jobs(session)
            in_flight: dict[str, int] = {}
            for job in open_jobs:
                left = max(0, job.copies - job.good_copies)
                in_flight[job.request_id] = in_flight.get(job.request_id, 0) + left
            todo = [(r, r.copies - r.good_copies - in_flight.get(r.id, 0)) for r in requests]
            todo = [(r, n) for r, n in todo if n > 0]
            if not todo:
                return
            views = self._views(session, now, requests, open_jobs, sites)
            operator = OperatorSettings(
                reload_count=self.settings.reload_count, reload_delay_s=self.settings.reload_delay_s
            )
            state = snapshot(now=now, devices=views, requests=todo, operator=operator)
            decided = plan_discflow(state)
            self._carry_out(session, decided, {r.id: r for r, _ in todo}, every_site=every_site)

    def _views(
        self,
        session: Session,
        now: float,
        requests: list[Request],
        open_jobs: list[Job],
        sites: Collection[str],
    ) -> list[DeviceView]:
        contents = {r.id: r.content for r in requests}
        pending_reload = store.pending_reloads(session)
        views = []
        for device in store.list_devices(session, sites=sites):
            if not device.drives:
                continue
            jobs = [
                (j, contents[j.request_id].sha256, contents[j.request_id].size_bytes)
                for j in open_jobs
                if j.device == device.name and j.request_id in contents
            ]
            link = self.links.get(device.name)
            views.append(
                device_view(
                    device,
                    now=now,
                    jobs=jobs,
                    uploads=link.uploads if link else {},
                    reload_pending={m for d, m in pending_reload if d == device.name},
                )
            )
        return views

    def _carry_out(
        self, session: Session, decided: Plan, by_id: dict[str, Request], *, every_site: bool
    ) -> None:
        for eviction in decided.evictions:
            link = self.links.get(eviction.device)
            if link is not None and eviction.content not in link.evictions:
                link.evictions.append(eviction.content)
        unplanned = store.claim_requests(session, [a.request for a in decided.assignments])
        for assignment in decided.assignments:
            copies = min(assignment.copies, unplanned.get(assignment.request, 0))
            if copies <= 0:
                continue  # another site's planner bound them first
            unplanned[assignment.request] -= copies
            job = store.create_job(
                session,
                by_id[assignment.request],
                device=assignment.device,
                copies=copies,
                owner=self.owner,
                lease_s=self.settings.lease_s,
            )
            # the plan's clock is the dispatcher's (epoch seconds): its ETA for the pages
            job.planned_end_at = datetime.fromtimestamp(assignment.end_s, UTC)
        for notice in decided.notices:
            device = session.get(store.Device, notice.device)
            loaded_total = (
                next((m.loaded_total for m in device.media if m.media == notice.media), 0)
                if device
                else 0
            )
            self.floor.notify(
                session,
                "media-out",
                notice.message,
                severity="error",
                device=notice.device,
                media=notice.media,
                data={
                    "blanks_needed": notice.blanks_needed,
                    "loaded_total": loaded_total,
                    "requests_waiting": notice.requests_waiting,
                },
            )
        for refused in decided.unplaceable if every_site else ():
            request = by_id[refused.request]
            if request.reason == refused.reason:
                continue
            request.reason = refused.reason
            store.record(
                session,
                "request.unplaceable",
                refused.reason,
                order_id=request.order_id,
                request_id=request.id,
            )
            self.floor.notify(
                session,
                "request-unplaceable",
                f"{refused.reason} (request {request.id})",
                severity="error",
                media=request.media,
            )
