"""Output devices: registration, agent enrolment and the claim-6 resource record.

Invariant: the record is refreshed only from an agent's heartbeat
(``apply_heartbeat``), and every change a heartbeat reveals (device came
online, blanks loaded, content cached or evicted) is logged as an event in the
same transaction.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from discflow.domain import (
    Availability,
    DeviceReason,
    check_device_address,
    media_type,
)
from discflow.errors import InvalidInput, NotFound, PermissionDenied
from discflow.protocol import AgentStatus, DeviceReasonOut, DriverName, MediaOut
from discflow.store._auth import hash_token
from discflow.store._events import record
from discflow.store._ids import new_token
from discflow.store._tables import Device, DeviceCacheEntry, DeviceMedia
from discflow.store._types import utcnow

DRIVERS = tuple(name.value for name in DriverName)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SITE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
DEFAULT_SITE = "main"


def check_site(site: str) -> str:
    """A site name: 1-32 lowercase letters, digits or '-' (it ends up in lease names)."""
    if not _SITE.match(site):
        raise InvalidInput(
            f"site name {site!r} must be 1-32 lowercase letters, digits or '-', "
            "starting with a letter or digit"
        )
    return site


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"device name {name!r} must be 1-63 lowercase letters, digits or '-', "
            "starting with a letter or digit"
        )
    return name


def register_device(
    session: Session,
    *,
    name: str,
    driver: str,
    address: str,
    actor: str,
    ttl_s: int = 3600,
    agent_token: str | None = None,
    site: str = DEFAULT_SITE,
) -> tuple[Device, str | None]:
    """Add a device; returns it with a one-time enrolment code (None if a token was given)."""
    _check_name(name)
    check_site(site)
    if driver not in DRIVERS:
        raise InvalidInput(f"unknown driver {driver!r}; use one of: {', '.join(DRIVERS)}")
    address = check_device_address(address)
    if session.get(Device, name) is not None:
        raise InvalidInput(f"a device named {name!r} already exists")
    code = None if agent_token else secrets.token_hex(8)
    device = Device(
        name=name,
        driver=driver,
        address=address,
        site=site,
        agent_token=agent_token,
        enrol_code_hash=hash_token(code) if code else None,
        enrol_expires_at=utcnow() + timedelta(seconds=ttl_s) if code else None,
    )
    session.add(device)
    record(
        session,
        "device.registered",
        f"{driver} device at {address}, site {site}",
        device=name,
        actor=actor,
    )
    return device, code


def enrol_agent(session: Session, *, code: str, name: str, address: str | None) -> str:
    """Exchange a one-time enrolment code for the agent's token."""
    device = session.get(Device, name)
    now = utcnow()
    if (
        device is None
        or device.enrol_code_hash is None
        or not secrets.compare_digest(device.enrol_code_hash, hash_token(code))
        or device.enrol_expires_at is None
        or device.enrol_expires_at < now
    ):
        raise PermissionDenied(
            f"enrolment code for {name!r} is wrong, used or expired; ask an operator for a new one"
        )
    token = new_token("dfa")
    device.agent_token = token
    device.enrol_code_hash = None
    device.enrol_expires_at = None
    if address:
        device.address = check_device_address(address)
    record(session, "device.enrolled", "agent enrolled", device=name, actor=name)
    return token


def device_for_agent_token(session: Session, token: str) -> Device | None:
    # by digest: the clear token is not in the database (store._secrets)
    return session.scalar(select(Device).where(Device.agent_token_hash == hash_token(token)))


def get_device(session: Session, name: str) -> Device:
    device = session.scalar(
        select(Device)
        .where(Device.name == name)
        .options(selectinload(Device.media), selectinload(Device.cache))
    )
    if device is None:
        raise NotFound(f"no device named {name!r}; list them with GET /api/v1/devices")
    return device


def list_devices(session: Session, *, sites: Collection[str] | None = None) -> list[Device]:
    """Every device (or those of ``sites``), by name."""
    query = select(Device).options(selectinload(Device.media), selectinload(Device.cache))
    if sites is not None:
        query = query.where(Device.site.in_(sorted(sites)))
    return list(session.scalars(query.order_by(Device.name)))


def device_addresses(session: Session) -> list[tuple[str, str | None, str]]:
    """(name, agent token digest, address) of every device, by name."""
    rows = session.execute(
        select(Device.name, Device.agent_token_hash, Device.address).order_by(Device.name)
    )
    return [(name, token_hash, address) for name, token_hash, address in rows]


def device_sites(session: Session) -> list[str]:
    """The sites that have at least one device, by name."""
    return list(session.scalars(select(Device.site).distinct().order_by(Device.site)))


def move_device(session: Session, name: str, *, site: str, actor: str) -> None:
    """Put a device in another site: that site's planner plans it from its next round
    (jobs already planned there stay where they are)."""
    device = get_device(session, name)
    before, device.site = device.site, check_site(site)
    record(session, "device.site", f"site {before} -> {site}", device=name, actor=actor)


# A report counted this much before the counts on record is taken as stale; a
# larger gap is the agent's clock set back, and its report is taken as it is.
STALE_COUNTS_WINDOW_S = 120.0


def _counted_before(row: DeviceMedia, report: MediaOut) -> bool:
    """Whether ``report``'s counts were read before those ``row`` holds.

    A heartbeat's body is built before it is sent: one built just before an
    operator's reload can arrive after the reload's answer was recorded, and
    would set the bin back (a notice raised again, the reload logged twice)."""
    if not report.counted_at or not row.counted_at:
        return False  # an agent that does not say when: every report counts
    behind = row.counted_at - report.counted_at
    return 0 < behind < STALE_COUNTS_WINDOW_S


def apply_heartbeat(session: Session, device: Device, report: AgentStatus) -> None:
    """Refresh the resource record from a report, logging what changed."""
    if report.name != device.name:
        raise InvalidInput(f"heartbeat for {report.name!r} sent with {device.name!r}'s token")
    for bin_report in report.media:
        media_type(bin_report.media)  # refuse unknown media names with a clear message
    was = device.availability
    now_state = Availability.PAUSED.value if device.paused else report.availability.value
    if device.paused and report.availability in (Availability.OFFLINE, Availability.ERROR):
        now_state = report.availability.value
    if was != now_state and (
        was == Availability.OFFLINE.value or now_state in ("offline", "error")
    ):
        record(session, f"device.{now_state}", f"{device.name} is {now_state}", device=device.name)
    device.availability = now_state
    device.drives = [d.model_dump(mode="json") for d in report.drives]
    device.cache_capacity_bytes = report.cache_capacity_bytes
    device.cache_free_bytes = report.cache_free_bytes
    device.link_Bps = report.link_Bps
    device.last_seen_at = utcnow()
    device.status = report.model_dump(mode="json")

    bins = {b.media: b for b in device.media}
    for bin_report in report.media:
        row = bins.get(bin_report.media)
        if row is None:
            row = DeviceMedia(device=device.name, media=bin_report.media)
            device.media.append(row)
        if _counted_before(row, bin_report):
            continue  # built before the counts on record (a reload's answer): keep those
        if row.loaded_total and bin_report.loaded_total > row.loaded_total:
            added = bin_report.loaded_total - row.loaded_total
            record(
                session,
                "media.loaded",
                f"{added} {bin_report.media} loaded into {device.name}",
                device=device.name,
                data={"media": bin_report.media, "count": added},
            )
        for field in (
            "loaded",
            "write_Bps",
            "overhead_s",
            "low_threshold",
            "loaded_total",
            "used_good",
            "used_failed",
            "counted_at",
        ):
            setattr(row, field, getattr(bin_report, field))

    held = {c.sha256: c for c in device.cache}
    reported = {c.sha256: c for c in report.cache}
    for sha, entry in held.items():
        if sha not in reported:
            device.cache.remove(entry)
            record(
                session,
                "content.evicted",
                f"{sha[:12]} left {device.name}'s cache",
                device=device.name,
                data={"sha256": sha},
            )
    for sha, cache_report in reported.items():
        if sha in held:
            held[sha].last_used = cache_report.last_used
        else:
            device.cache.append(
                DeviceCacheEntry(
                    device=device.name,
                    sha256=sha,
                    size_bytes=cache_report.size_bytes,
                    last_used=cache_report.last_used,
                )
            )
            record(
                session,
                "content.cached",
                f"{sha[:12]} now in {device.name}'s cache",
                device=device.name,
                data={"sha256": sha, "size_bytes": cache_report.size_bytes},
            )


def device_reasons(device: Device) -> list[DeviceReason]:
    """The conditions the device's last heartbeat named (CUPS printer-state-reasons)."""
    reported = (device.status or {}).get("reasons")
    return [DeviceReasonOut.model_validate(item).to_domain() for item in reported or []]


def mark_offline_if_silent(session: Session, *, older_than: datetime) -> list[str]:
    """Devices whose last heartbeat is older than ``older_than`` go offline (logged once)."""
    gone = []
    for device in session.scalars(select(Device).where(Device.availability != "offline")):
        if device.last_seen_at is None or device.last_seen_at < older_than:
            device.availability = Availability.OFFLINE.value
            record(
                session, "device.offline", f"no heartbeat from {device.name}", device=device.name
            )
            gone.append(device.name)
    return gone
