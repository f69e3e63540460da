"""Dependencies shared by the routes: the session, the caller, the archive.

The role checks do no I/O and are ``async def``: FastAPI runs a plain ``def``
dependency in the thread pool, and each such hop costs more than the check itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlalchemy.orm import Session

from discflow.settings import Settings
from discflow.store import Database, Device, Principal, Role, device_for_agent_token
from discflow.store import principal_for_token as _principal_for_token
from discflow.web._admission import admitted


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request, _turn: Annotated[None, Depends(admitted)]) -> Iterator[Session]:
    """One transaction per HTTP request: committed if the handler returns, else rolled back.

    Opened only once the request is admitted (see ``web._admission``)."""
    # get_database called directly, not as a dependency: one thread-pool hop less
    with get_database(request).transaction() as session:
        yield session


# scope="function": commit before the response is sent, so a client that reads right
# after a 201 always finds what it created
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request, session: SessionDep) -> Principal:
    token = bearer_token(request)
    if token is None:
        session_principal = getattr(request.state, "principal", None)
        if isinstance(session_principal, Principal):
            return session_principal
        raise _unauthorized(
            "missing 'Authorization: Bearer <token>'; create one with "
            "'discflow token create --role customer --user NAME'"
        )
    principal = _principal_for_token(session, token)
    if principal is None:
        device = device_for_agent_token(session, token)
        if device is not None:
            return Principal(user_id=None, name=device.name, role=None, device=device.name)
        raise _unauthorized("the bearer token is unknown or revoked")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_user(principal: PrincipalDep) -> Principal:
    if principal.role is None:
        raise HTTPException(status_code=403, detail="device agents cannot call this endpoint")
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


async def operator(principal: UserDep) -> Principal:
    principal.require(Role.OPERATOR)
    return principal


OperatorDep = Annotated[Principal, Depends(operator)]


async def admin(principal: UserDep) -> Principal:
    principal.require(Role.ADMIN)
    return principal


AdminDep = Annotated[Principal, Depends(admin)]


def current_agent(request: Request, session: SessionDep) -> Device:
    token = bearer_token(request)
    device = device_for_agent_token(session, token) if token else None
    if device is None:
        raise _unauthorized("this endpoint takes a device agent's token")
    return device


AgentDep = Annotated[Device, Depends(current_agent)]


# numbers from the URL end up in SQL as 64-bit integers; larger ones are refused (422), not a 500
_DB_INT = 2**31 - 1  # the INTEGER columns ids live in (PostgreSQL enforces it)
Count = Annotated[int, Query(ge=-_DB_INT, le=_DB_INT)]
RowId = Annotated[int, Path(ge=-_DB_INT, le=_DB_INT)]
