"""The campaign's judge: proves, from the store, the agents and the disks, that
nothing was lost, burned twice or left behind.

Invariants checked (each violation is one line in ``Verdict.problems``):

- every request placed (201) is on the server exactly once, and no order was
  made twice by a client's retry;
- every request is done, failed or cancelled, or still queued with a reason;
- good discs per request equal its copies when done and never exceed them,
  except discs a device reported after coming back from being declared
  offline (its jobs had moved on): those are counted as surplus, not hidden;
  its counts equal the sum over its jobs (failed discs recorded and counted);
- per device, the agent's ledger reconciles
  (``loaded_total - used_good - used_failed - in_drive == loaded``) and its
  good discs equal those the server recorded for that device;
- each ``image`` disc file holds the archive's bytes, one file per good copy
  (a file for a copy the agent calls ``interrupted`` is a disc read back good
  just before a SIGKILL: counted, with its blank on the spoilt side);
- each request's ``request.*`` events are a legal walk of the request
  lifecycle from ``queued`` that ends in its current state;
- no leftovers: archive ``tmp/`` and ``incoming/`` and the agents'
  ``partial/`` folders are empty once nothing is in flight;
- one mailing label per done request;
- no bearer token (customer, operator, agent) appears in any process's log.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from discflow.demo import Fleet
from discflow.domain import REQUEST_LIFECYCLE, RequestState
from discflow.store import Database, Event, Job, Request
from tests.utils.system import agent_token

# events named like a request state that are not a state change
_NOT_A_STATE = {"request.split", "request.unplaceable"}


@dataclass
class Verdict:
    requests: int = 0
    states: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    doubled: int = 0
    surplus: int = 0  # discs a device made for jobs moved while it was declared offline
    good_counted_failed: int = 0  # verified discs an agent killed at that instant calls spoilt
    good_discs: int = 0
    failed_discs: int = 0
    devices_reconciled: int = 0
    devices_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(
    *,
    database: Database,
    placed: dict[str, tuple[str, int]],
    orders_placed: int,
    fleet: Fleet,
    archive: Path,
    labels: Path | None,
) -> Verdict:
    verdict = Verdict(requests=len(placed))
    problems = verdict.problems
    with database.transaction() as session:
        requests = {r.id: r for r in session.scalars(select(Request))}
        jobs = list(session.scalars(select(Job)))
        events: defaultdict[str, list[str]] = defaultdict(list)
        for event in session.scalars(
            select(Event).where(Event.request_id.is_not(None)).order_by(Event.id)
        ):
            if event.type.startswith("request.") and event.type not in _NOT_A_STATE:
                events[str(event.request_id)].append(event.type.removeprefix("request."))
        order_ids = {r.order_id for r in requests.values()}
        snapshot = {
            r.id: (r.state, r.reason, r.copies, r.good_copies, r.failed_copies)
            for r in requests.values()
        }

    # nothing lost, nothing made twice
    lost = set(placed) - set(snapshot)
    verdict.lost = len(lost)
    problems += [f"request {rid} was accepted (201) but is not on the server" for rid in lost]
    if len(order_ids) != orders_placed:
        problems.append(f"{orders_placed} orders placed but the server holds {len(order_ids)}")

    good_by_request: Counter[str] = Counter()
    failed_by_request: Counter[str] = Counter()
    good_by_device: Counter[str] = Counter()
    job_request: dict[str, str] = {}
    came_back = {j.request_id for j in jobs if "came back after" in j.error}
    for job in jobs:
        good_by_request[job.request_id] += job.good_copies
        failed_by_request[job.request_id] += job.failed_copies
        good_by_device[job.device] += job.good_copies
        job_request[job.id] = job.request_id

    for rid, (state, reason, copies, good, failed) in snapshot.items():
        verdict.states[state] += 1
        verdict.good_discs += good
        verdict.failed_discs += failed
        if state == "queued":
            if not reason:
                problems.append(f"request {rid} is queued with no reason")
        elif state not in ("done", "failed", "cancelled"):
            problems.append(f"request {rid} is stuck in {state}")
        if good_by_request[rid] > copies and rid in came_back:
            verdict.surplus += good_by_request[rid] - copies
        elif good_by_request[rid] > copies:
            verdict.doubled += 1
            problems.append(f"request {rid}: {good_by_request[rid]} good discs for {copies} copies")
        if state == "done" and good < copies:
            problems.append(f"request {rid} is done with {good} good discs of {copies}")
        if (good, failed) != (good_by_request[rid], failed_by_request[rid]):
            problems.append(
                f"request {rid} counts {good} good/{failed} failed but its jobs hold "
                f"{good_by_request[rid]}/{failed_by_request[rid]}"
            )
        problems += _lifecycle_problems(rid, events.get(rid, []), state)

    _check_devices(verdict, fleet, database, good_by_device)
    _check_images(verdict, fleet, database, placed, jobs)
    _check_leftovers(problems, fleet, archive)
    if labels is not None:
        done = {rid for rid, s in snapshot.items() if s[0] == "done"}
        names = [p.name for p in labels.glob("*.pdf")] if labels.exists() else []
        per = Counter(rid for name in names for rid in done if rid in name)
        missing = [rid for rid in done if per[rid] != 1]
        if missing:
            problems.append(
                f"{len(missing)} done requests lack exactly one label (e.g. {missing[0]})"
            )
    return verdict


def _lifecycle_problems(rid: str, walk: list[str], state: str) -> list[str]:
    if not walk or walk[0] != "queued":
        return [f"request {rid}: task log does not start with request.queued: {walk[:3]}"]
    for before, after in zip(walk, walk[1:], strict=False):
        if not REQUEST_LIFECYCLE.can(RequestState(before), RequestState(after)):
            return [f"request {rid}: task log jumps {before} -> {after} (not a legal move)"]
    if walk[-1] != state:
        return [f"request {rid} is {state} but its last logged state is {walk[-1]}"]
    return []


def _check_devices(
    verdict: Verdict, fleet: Fleet, database: Database, good_by_device: Counter[str]
) -> None:
    for name, agent in fleet.agents.items():
        verdict.devices_checked += 1
        try:
            status = httpx.get(
                f"{agent.url}/v1/status",
                headers={"Authorization": f"Bearer {agent_token(database, name)}"},
                timeout=10,
            ).json()
        except httpx.HTTPError as error:
            verdict.problems.append(f"{name}: status unreadable: {error!r}")
            continue
        used_good = 0
        balanced = True
        for media in status["media"]:
            left = (
                media["loaded_total"]
                - media["used_good"]
                - media["used_failed"]
                - media["in_drive"]
            )
            if left != media["loaded"]:
                balanced = False
                verdict.problems.append(f"{name} {media['media']}: ledger off: {media}")
            used_good += media["used_good"]
        if used_good != good_by_device[name]:
            balanced = False
            verdict.problems.append(
                f"{name}: agent counts {used_good} good discs, server recorded "
                f"{good_by_device[name]}"
            )
        verdict.devices_reconciled += balanced


def _check_images(
    verdict: Verdict,
    fleet: Fleet,
    database: Database,
    placed: dict[str, tuple[str, int]],
    jobs: list[Job],
) -> None:
    problems = verdict.problems
    by_id = {j.id: j for j in jobs}
    image_devices = {n for n, a in fleet.agents.items() if a.spec.driver == "image"}
    files: Counter[str] = Counter()  # per job
    for name in image_devices:
        for image in (fleet.root / name / "discs").rglob("*.iso"):
            job_id = "-".join(image.name.split("-")[:2])
            job = by_id.get(job_id)
            if job is None:
                problems.append(f"{image} belongs to no job the server knows")
                continue
            if hashlib.sha256(image.read_bytes()).hexdigest() != placed[job.request_id][0]:
                problems.append(f"{image} differs from the archive's image")
            files[job_id] += 1
    for job in jobs:
        if job.device not in image_devices or files[job.id] == job.good_copies:
            continue
        extra = files[job.id] - job.good_copies
        # an agent killed between a disc's read-back and writing its state file restarts
        # with that copy "interrupted" (its blank counted spoilt): a good disc on the
        # "failed" side of the books, never the reverse
        interrupted = _agent_copies(fleet, database, job).count("interrupted")
        if 0 < extra <= interrupted:
            verdict.good_counted_failed += extra
        else:
            problems.append(
                f"request {job.request_id} job {job.id}: {files[job.id]} disc images on disk, "
                f"{job.good_copies} recorded good"
            )


def _agent_copies(fleet: Fleet, database: Database, job: Job) -> list[str]:
    agent = fleet.agents[job.device]
    try:
        answer = httpx.get(
            f"{agent.url}/v1/jobs/{job.id}",
            headers={"Authorization": f"Bearer {agent_token(database, job.device)}"},
            timeout=10,
        )
    except httpx.HTTPError:
        return []
    if answer.status_code != 200:
        return []
    return [str(c["state"]) for c in answer.json()["copies"]]


def _check_leftovers(problems: list[str], fleet: Fleet, archive: Path) -> None:
    for folder in (archive / "tmp", archive / "incoming"):
        if folder.exists():
            left = [p.name for p in folder.iterdir()]
            if left:
                problems.append(f"archive {folder.name}/ keeps {len(left)} files: {left[:3]}")
    for name in fleet.agents:
        partial = fleet.root / name / "cache" / "partial"
        if partial.exists():
            left = [p.name for p in partial.iterdir()]
            if left:
                problems.append(f"{name} cache partial/ keeps {len(left)} files: {left[:3]}")


def secrets_in_logs(root: Path, secrets: list[str]) -> list[str]:
    """Every log file under ``root`` that shows one of ``secrets`` (bearer tokens)."""
    found = []
    for log in root.rglob("*.log"):
        text = log.read_bytes()
        for secret in secrets:
            if secret.encode() in text:
                found.append(f"{log.name} shows a secret token ({secret[:6]}...)")
    return found
