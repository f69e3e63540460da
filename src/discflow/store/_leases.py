"""Leases: who may act on what, decided by the database alone.

Invariant: acquiring or renewing a lease is one conditional UPDATE (or an
INSERT that can only succeed once), so two processes can never both believe
they hold the same lease, on SQLite or on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
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
