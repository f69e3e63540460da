"""The session cookie, turned into ``request.state.principal`` for the API and the pages.

Invariants:
- A request carrying ``Authorization`` is judged by its bearer token alone;
  the cookie is not even looked up.
- A state-changing API call authenticated by the cookie must carry the
  session's ``X-CSRF-Token`` header, or it is refused with 403 before any
  handler runs: a cookie alone never changes anything.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from discflow.store import SESSION_TTL, Database, SignedIn, resume_session

COOKIE = "df_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_token(given: str | None, expected: str) -> bool:
    """A CSRF or sign-in token compared in constant time (a missing one never matches)."""
    return bool(given) and secrets.compare_digest(str(given).encode(), expected.encode())


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is the browser's problem, not a 500
                return None
            if name in jar:
                return jar[name].value
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SessionMiddleware:
    """Sets ``request.state.principal`` and ``request.state.signed_in`` from the cookie."""

    def __init__(self, app: ASGIApp, *, database: Database) -> None:
        self.app = app
        self.database = database

    def _lookup(self, session_id: str) -> SignedIn | None:
        with self.database.transaction() as session:
            return resume_session(session, session_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["signed_in"] = None
        session_id = _cookie(scope, COOKIE)
        if session_id and _header(scope, b"authorization") is None:
            signed_in = await to_thread.run_sync(self._lookup, session_id)
            if signed_in is not None:
                state["signed_in"] = signed_in
                state["principal"] = signed_in.principal
                if (
                    scope["method"] not in SAFE_METHODS
                    and scope["path"].startswith("/api/")
                    and not same_token(_header(scope, CSRF_HEADER.encode()), signed_in.csrf_token)
                ):
                    await _forbidden(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _forbidden(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps(
        {
            "detail": "a call made with the session cookie needs the page's X-CSRF-Token "
            "header; scripts should use a bearer token instead"
        }
    )
    await Response(body, status_code=403, media_type="application/json")(scope, receive, send)


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


def session_cookie(request: Request) -> str | None:
    return request.cookies.get(COOKIE)
