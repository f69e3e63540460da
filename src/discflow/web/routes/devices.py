"""``/api/v1/devices``: the output devices and their claim-6 resource records."""

from __future__ import annotations

from fastapi import APIRouter, Response

from discflow import store
from discflow.errors import PermissionDenied
from discflow.store import DeviceStatusReport
from discflow.web.deps import AgentDep, OperatorDep, SessionDep, SettingsDep, UserDep
from discflow.web.routes._convert import device_public
from discflow.web.schemas import DeviceCreate, DevicePublic

router = APIRouter(prefix="/devices", tags=["devices"])


@router.post("", status_code=201, response_model=DevicePublic)
def register_device(
    body: DeviceCreate, session: SessionDep, principal: OperatorDep, settings: SettingsDep
) -> DevicePublic:
    """Register a device; the answer holds a one-time ``enrol_code`` for its agent."""
    device, code = store.register_device(
        session,
        name=body.name,
        driver=body.driver,
        address=body.address,
        actor=principal.name,
        ttl_s=settings.enrol_code_ttl_s,
    )
    session.flush()
    return device_public(store.get_device(session, device.name), enrol_code=code)


@router.get("", response_model=list[DevicePublic])
def list_devices(session: SessionDep, principal: UserDep) -> list[DevicePublic]:
    return [device_public(d) for d in store.list_devices(session)]


@router.get("/{name}", response_model=DevicePublic)
def get_device(name: str, session: SessionDep, principal: UserDep) -> DevicePublic:
    """The full resource record: drives, availability, blanks, cache index and capacity."""
    return device_public(store.get_device(session, name))


@router.post("/{name}/heartbeat", status_code=204)
def heartbeat(
    name: str, report: DeviceStatusReport, session: SessionDep, agent: AgentDep
) -> Response:
    """An agent's periodic status; refreshes the resource record."""
    if agent.name != name:
        raise PermissionDenied(f"this token belongs to {agent.name!r}, not {name!r}")
    store.apply_heartbeat(session, store.get_device(session, name), report)
    return Response(status_code=204)
