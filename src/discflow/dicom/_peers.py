"""Which calling AE titles (and hosts) may associate, and whose account each one is."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from discflow import store
from discflow.dicom._settings import check_ae_title
from discflow.dicom._tables import DicomPeer
from discflow.errors import InvalidInput, NotFound


def allow_peer(session: Session, *, ae_title: str, user: str, host: str = "") -> DicomPeer:
    """Map ``ae_title`` (from ``host`` only, when given) to the account ``user``."""
    try:
        title = check_ae_title(ae_title)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    host = host.strip()
    if len(host) > 253 or any(c.isspace() for c in host):
        raise InvalidInput(f"host {host!r} is not a host name or address")
    account = session.scalar(select(store.User).where(store.User.name == user))
    if account is None:
        raise NotFound(f"no user {user!r}; create one with 'discflow users add'")
    peer = session.scalar(
        select(DicomPeer).where(DicomPeer.ae_title == title, DicomPeer.host == host)
    )
    if peer is None:
        peer = DicomPeer(ae_title=title, host=host, user_id=account.id)
        session.add(peer)
    peer.user_id = account.id
    session.flush()
    return peer


def account_for(session: Session, *, ae_title: str, host: str) -> int | None:
    """The account an association from ``ae_title`` at ``host`` acts for, or None."""
    rows = session.scalars(
        select(DicomPeer).where(
            DicomPeer.ae_title == ae_title.strip(),
            or_(DicomPeer.host == "", DicomPeer.host == host),
        )
    )
    # a host-bound entry wins over an any-host one
    best = sorted(rows, key=lambda p: p.host == "")
    return best[0].user_id if best else None


def list_peers(session: Session) -> list[tuple[DicomPeer, str]]:
    rows = session.execute(
        select(DicomPeer, store.User.name).join(store.User, store.User.id == DicomPeer.user_id)
    )
    return [(peer, name) for peer, name in rows.tuples()]
