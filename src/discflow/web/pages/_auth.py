"""Sign-in and sign-out pages.

Invariants:
- The sign-in form is itself CSRF-protected (a double-submitted random
  cookie), so another site cannot sign a browser into an attacker's account.
- Failed attempts are limited per account and per client address, in the
  database (``web._security.SignInThrottle``); a limited caller is refused
  before the password is even checked.
- ``next`` only ever redirects to a path on this site: printable ASCII, one
  leading ``/``, no backslash, no scheme or host (``_safe_next``).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from discflow.store import Database, Role, authenticate, end_session, start_session
from discflow.web._security import SignInThrottle, wait_message
from discflow.web.pages._common import CsrfDep, PageRoute, form_data, render, see_other
from discflow.web.pages._sessions import (
    clear_session_cookie,
    same_token,
    session_cookie,
    set_session_cookie,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SIGNIN_COOKIE = "df_signin"


# printable ASCII only: browsers drop tabs and newlines inside a URL and read a backslash
# as "/", so "/<TAB>/evil.example" or "/<BACKSLASH>evil.example" become "//evil.example"
_SAME_SITE_PATH = re.compile(r"^/(?![/\\])[\x21-\x7e]*$")


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``."""
    if not target or len(target) > 2000 or not _SAME_SITE_PATH.match(target):
        return "/"
    if "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _signin_form(
    request: Request, *, error: str = "", name: str = "", status: int = 200
) -> Response:
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        {
            "title": "Sign in",
            "error": error,
            "name": name,
            "signin_token": token,
            "next": _safe_next(request.query_params.get("next")),
        },
        status=status,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/")
def home(request: Request) -> Response:
    signed_in = getattr(request.state, "signed_in", None)
    if signed_in is None:
        return see_other("/signin")
    role = signed_in.principal.role
    return see_other("/floor" if role is not None and role.at_least(Role.OPERATOR) else "/catalog")


@router.get("/signin")
def signin_page(request: Request) -> Response:
    return _signin_form(request)


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await form_data(request)
    if not same_token(form.get("signin_token"), request.cookies.get(SIGNIN_COOKIE, "")):
        return _signin_form(
            request,
            error="The sign-in form expired or came from another site; please try again.",
            status=403,
        )
    name = form.get("name", "").strip()
    password = form.get("password", "")
    client = request.client.host if request.client else "unknown"
    throttle = SignInThrottle.from_settings(request.app.state.settings)
    database: Database = request.app.state.database
    with database.transaction() as session:
        wait = throttle.retry_after(session, name, client)
    if wait > 0:
        return _signin_form(request, error=wait_message(name, wait), name=name, status=429)
    with database.transaction() as session:
        user = authenticate(session, name, password)
        session_id = start_session(session, user) if user is not None else None
        if session_id is None:
            throttle.failed(session, name, client)
        else:
            throttle.succeeded(session, name)
    if session_id is None:
        return _signin_form(request, error="Wrong user name or password.", name=name, status=401)
    response = see_other(_safe_next(form.get("next")))
    set_session_cookie(response, request, session_id)
    response.delete_cookie(SIGNIN_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request, current: CsrfDep) -> Response:
    session_id = session_cookie(request)
    if session_id:
        database: Database = request.app.state.database
        with database.transaction() as session:
            end_session(session, session_id)
    response = see_other("/signin")
    clear_session_cookie(response, request)
    return response
