"""Planning (a site's lease holder): the store's open work -> ``scheduler.plan_discflow`` -> jobs.

Invariants:
- The snapshot, the plan and every job it creates are one transaction, and a
  job exists (``pending``) before any agent hears of it.
- A planner plans the pooled requests (any site's) onto the devices of the
  sites it holds, only. Planners of other sites plan the same requests at the
  same time: the requests a plan binds are claimed (``store.claim_requests``)
  before its jobs are written, and an assignment is cut to the copies still
  unplanned, so two plans never both hand out the same copies.
- "No device can take this request" is a floor-wide fact: a planner holding
  only some sites checks what its own plan refused against a plan of every
  device (``_refused_by_the_floor``) and records only what that refuses too,
  with the request's row locked, so a request another site can serve is never
  called unplaceable and two planners never record it twice.
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
from discflow.scheduler import DeviceView, OperatorSettings, Plan, Unplaceable, plan_discflow
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
            if not store.copies_to_plan(session):
                return  # the same answer as the empty ``todo`` below, without the reads
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
            by_id = {r.id: r for r, _ in todo}
            refused = [u for u in decided.unplaceable if by_id[u.request].reason != u.reason]
            if refused and not every_site:
                refused = self._refused_by_the_floor(
                    session, now, refused, todo, requests, open_jobs, operator
                )
            self._carry_out(session, decided, by_id, refused)

    def _refused_by_the_floor(
        self,
        session: Session,
        now: float,
        refused: list[Unplaceable],
        todo: list[tuple[Request, int]],
        requests: list[Request],
        open_jobs: list[Job],
        operator: OperatorSettings,
    ) -> list[Unplaceable]:
        """Of the requests this planner's sites refused, those no device of any site
        can take (a plan of just them over every device refuses them too), their rows
        locked and reloaded so a reason another planner recorded meanwhile is seen."""
        ids = {u.request for u in refused}
        views = self._views(session, now, requests, open_jobs, None)
        floor = plan_discflow(
            snapshot(
                now=now,
                devices=views,
                requests=[(r, n) for r, n in todo if r.id in ids],
                operator=operator,
            )
        )
        nowhere = {u.request: u for u in floor.unplaceable}
        store.claim_requests(session, sorted(nowhere))  # locks them; reloads their reason
        by_id = {r.id: r for r, _ in todo}
        return [u for u in nowhere.values() if by_id[u.request].reason != u.reason]

    def _views(
        self,
        session: Session,
        now: float,
        requests: list[Request],
        open_jobs: list[Job],
        sites: Collection[str] | None,
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
        self,
        session: Session,
        decided: Plan,
        by_id: dict[str, Request],
        refused: list[Unplaceable],
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
        for unplaceable in refused:
            request = by_id[unplaceable.request]
            request.reason = unplaceable.reason
            store.record(
                session,
                "request.unplaceable",
                unplaceable.reason,
                order_id=request.order_id,
                request_id=request.id,
            )
            self.floor.notify(
                session,
                "request-unplaceable",
                f"{unplaceable.reason} (request {request.id})",
                severity="error",
                media=request.media,
            )
