"""``/api/v1/devices``: the output devices and their claim-6 resource records."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from discflow import store
from discflow.dispatcher import record_media_loaded, set_paused
from discflow.errors import PermissionDenied
from discflow.protocol import AgentStatus
from discflow.web.deps import (
    AgentDep,
    OperatorDep,
    SessionDep,
    SettingsDep,
    UserDep,
    get_database,
)
from discflow.web.routes._convert import device_public
from discflow.web.schemas import DeviceCreate, DeviceForCustomer, DevicePublic

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
        site=body.site,
    )
    session.flush()
    return device_public(store.get_device(session, device.name), enrol_code=code)


def _for_customer(device: store.Device) -> DeviceForCustomer:
    media = [m.media for m in device.media if m.loaded > 0]
    return DeviceForCustomer(name=device.name, availability=device.availability, media=media)


@router.get("", response_model=list[DevicePublic] | list[DeviceForCustomer])
def list_devices(
    session: SessionDep, principal: UserDep
) -> list[DevicePublic] | list[DeviceForCustomer]:
    """Operators get the resource records; customers the media each device holds, no more."""
    if principal.role is not None and principal.role.at_least(store.Role.OPERATOR):
        return [device_public(d) for d in store.list_devices(session)]
    return [_for_customer(d) for d in store.list_devices(session)]


@router.get("/{name}", response_model=DevicePublic | DeviceForCustomer)
def get_device(
    name: str, session: SessionDep, principal: UserDep
) -> DevicePublic | DeviceForCustomer:
    """The full resource record (operators): drives, availability, blanks, cache index and
    capacity; a customer gets the media it holds."""
    if principal.role is not None and principal.role.at_least(store.Role.OPERATOR):
        return device_public(store.get_device(session, name))
    return _for_customer(store.get_device(session, name))


@router.post("/{name}/heartbeat", status_code=204)
def heartbeat(name: str, report: AgentStatus, session: SessionDep, agent: AgentDep) -> Response:
    """An agent's periodic status; refreshes the resource record."""
    if agent.name != name:
        raise PermissionDenied(f"this token belongs to {agent.name!r}, not {name!r}")
    store.apply_heartbeat(session, store.get_device(session, name), report)
    return Response(status_code=204)


class MediaLoaded(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media: str = Field(examples=["CD-R"])
    count: int = Field(ge=1, le=10_000)


class MediaLoadedOut(BaseModel):
    device: str
    media: str
    loaded: int


@router.post("/{name}/media", response_model=MediaLoadedOut)
async def media_loaded(
    name: str, body: MediaLoaded, request: Request, principal: OperatorDep
) -> MediaLoadedOut:
    """Record that the operator loaded ``count`` blanks of ``media`` into the device."""
    database = get_database(request)
    loaded = await record_media_loaded(
        database, device=name, media=body.media, count=body.count, actor=principal.name
    )
    return MediaLoadedOut(device=name, media=body.media, loaded=loaded)


@router.post("/{name}/pause", status_code=204)
def pause(name: str, request: Request, principal: OperatorDep) -> Response:
    """Send no new work to the device; jobs already on it finish."""
    set_paused(get_database(request), device=name, paused=True, actor=principal.name)
    return Response(status_code=204)


@router.post("/{name}/resume", status_code=204)
def resume(name: str, request: Request, principal: OperatorDep) -> Response:
    set_paused(get_database(request), device=name, paused=False, actor=principal.name)
    return Response(status_code=204)
