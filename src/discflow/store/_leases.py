"""Leases: who may act on what, decided by the database alone.

Invariants:
- Acquiring or renewing a lease is one conditional UPDATE (or an INSERT that
  can only succeed once), so two processes can never both believe they hold
  the same lease, on SQLite or on PostgreSQL.
- Names: ``planner`` (the floor watch, labels and webhooks: one holder),
  ``planner:<site>`` (plans that site's devices), ``alive:<digest of owner>``
  (a running dispatcher, renewed each round: how dispatchers count each other
  to share the sites).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from discflow.store._tables import Job, Lease
from discflow.store._types import utcnow


def acquire_lease(session: Session, name: str, *, owner: str, ttl_s: float) -> bool:
    """Take or renew the named lease; False while another owner holds it unexpired."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_s)
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.owner == owner, Lease.expires_at < now))
        .values(owner=owner, expires_at=until)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return True
    # held by another: say so without the failing INSERT (a savepoint and an exception,
    # paid every round by every dispatcher that does not hold the floor's lease)
    if session.scalar(select(Lease.name).where(Lease.name == name)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Lease(name=name, owner=owner, expires_at=until))
    except IntegrityError:
        return False  # someone else holds it
    return True


def release_lease(session: Session, name: str, *, owner: str) -> None:
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.owner == owner)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )


def claim_jobs(session: Session, *, owner: str, lease_s: float, active: tuple[str, ...]) -> int:
    """Renew this owner's job leases and take over any whose lease ran out."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(
            Job.state.in_(active),
            or_(
                Job.lease_owner == owner, Job.lease_expires_at.is_(None), Job.lease_expires_at < now
            ),
        )
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


SITE_LEASE_PREFIX = "planner:"
_ALIVE_PREFIX = "alive:"


def site_lease(site: str) -> str:
    return f"{SITE_LEASE_PREFIX}{site}"


def announce_dispatcher(session: Session, *, owner: str, ttl_s: float) -> int:
    """Renew this dispatcher's ``alive`` lease; returns how many dispatchers are alive
    (this one included)."""
    # a digest: owner names (host:pid, or --name) may be longer than a lease name
    tag = hashlib.sha256(owner.encode()).hexdigest()[:32]
    acquire_lease(session, f"{_ALIVE_PREFIX}{tag}", owner=owner, ttl_s=ttl_s)
    # each start under a new host:pid leaves a row: forget those gone for an hour
    session.execute(
        delete(Lease).where(
            Lease.name.startswith(_ALIVE_PREFIX),
            Lease.expires_at < utcnow() - timedelta(hours=1),
        )
    )
    alive = session.scalar(
        select(func.count())
        .select_from(Lease)
        .where(Lease.name.startswith(_ALIVE_PREFIX), Lease.expires_at >= utcnow())
    )
    return max(1, int(alive or 0))


def withdraw_dispatcher(session: Session, *, owner: str) -> None:
    tag = hashlib.sha256(owner.encode()).hexdigest()[:32]
    release_lease(session, f"{_ALIVE_PREFIX}{tag}", owner=owner)


def held_site_leases(session: Session, *, owner: str) -> set[str]:
    """The sites whose planner lease this owner holds, unexpired."""
    names = session.scalars(
        select(Lease.name).where(
            Lease.name.startswith(SITE_LEASE_PREFIX),
            Lease.owner == owner,
            Lease.expires_at >= utcnow(),
        )
    )
    return {name.removeprefix(SITE_LEASE_PREFIX) for name in names}
