"""Dependencies shared by the routes: the session, the caller, the archive.

The role checks do no I/O and are ``async def``: FastAPI runs a plain ``def``
dependency in the thread pool, and each such hop costs more than the check itself.
``HotUserDep`` is the caller for the hot routes: ``async``, answered from the worker's
principal cache, and without a database session (those routes use ``Database.hot``).

Invariants (the API's callers; the pages' session middleware does not run for
``/api/`` paths, so these are the only place an API call is authenticated):
- A request carrying ``Authorization`` is judged by its bearer token alone; the
  session cookie is not even looked up.
- Without it, the browser's session cookie is the caller; a state-changing call
  made with the cookie must carry the session's ``X-CSRF-Token`` header, or it is
  refused with 403 before its handler runs: a cookie alone never changes anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from discflow.settings import Settings
from discflow.store import (
    Database,
    Device,
    Principal,
    Role,
    device_for_agent_token,
    hash_token,
    resume_session,
)
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


_NO_TOKEN = (  # nosec B105: an error message, not a password
    "missing 'Authorization: Bearer <token>'; create one with "
    "'discflow token create --role customer --user NAME'"
)
_UNKNOWN_TOKEN = "the bearer token is unknown or revoked"  # nosec B105: an error message
_NOT_FOR_AGENTS = "device agents cannot call this endpoint"


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSRF_HEADER = "x-csrf-token"
_NEEDS_CSRF = (
    "a call made with the session cookie needs the page's X-CSRF-Token "
    "header; scripts should use a bearer token instead"
)


def _session_cookie(request: Request) -> str | None:
    # imported here: the pages import this module
    from discflow.web.pages import COOKIE

    return request.cookies.get(COOKIE) if "authorization" not in request.headers else None


def _signed_in(request: Request, session: Session) -> Principal:
    """The caller of a call without ``Authorization``: the browser session's user."""
    session_id = _session_cookie(request)
    signed_in = resume_session(session, session_id) if session_id else None
    if signed_in is None:
        raise _unauthorized(_NO_TOKEN)
    if request.method not in _SAFE_METHODS:
        given = request.headers.get(_CSRF_HEADER, "")
        if not (given and secrets.compare_digest(given.encode(), signed_in.csrf_token.encode())):
            raise HTTPException(status_code=403, detail=_NEEDS_CSRF)
    return signed_in.principal


def _signed_in_alone(database: Database, request: Request) -> Principal:
    with database.transaction() as session:
        return _signed_in(request, session)


def current_principal(request: Request, session: SessionDep) -> Principal:
    token = bearer_token(request)
    if token is None:
        return _signed_in(request, session)
    cache = get_database(request).hot.principals
    digest = hash_token(token)
    generation = cache.generation
    principal = cache.get(digest)
    if principal is None:
        principal = _principal_for_token(session, token)
        if principal is not None:
            cache.put(digest, principal, generation=generation)
    if principal is None:
        device = device_for_agent_token(session, token)
        if device is not None:
            return Principal(user_id=None, name=device.name, role=None, device=device.name)
        raise _unauthorized(_UNKNOWN_TOKEN)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_user(principal: PrincipalDep) -> Principal:
    if principal.role is None:
        raise HTTPException(status_code=403, detail=_NOT_FOR_AGENTS)
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


def _is_agent_token(database: Database, token: str) -> bool:
    with database.transaction() as session:
        return device_for_agent_token(session, token) is not None


async def hot_user(request: Request) -> Principal:
    """``UserDep`` for the hot routes: the same answers, no session, no thread hop
    when the token is cached."""
    token = bearer_token(request)
    database = get_database(request)
    if token is None:
        if _session_cookie(request) is None:
            raise _unauthorized(_NO_TOKEN)
        # a page's script: one thread hop for the session's row
        return await run_in_threadpool(_signed_in_alone, database, request)
    principal = await database.hot.principal(token)
    if principal is not None:
        return principal
    if await run_in_threadpool(_is_agent_token, database, token):
        raise HTTPException(status_code=403, detail=_NOT_FOR_AGENTS)
    raise _unauthorized(_UNKNOWN_TOKEN)


HotUserDep = Annotated[Principal, Depends(hot_user)]


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
