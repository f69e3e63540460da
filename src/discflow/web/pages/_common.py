"""What every page shares: templates, the signed-in user, CSRF checks, error pages.

Invariants:
- Every page handler runs inside ``PageRoute``, so a ``DiscflowError`` becomes
  an HTML page with the right status (403, 404...) instead of the API's JSON.
- Every state-changing page handler depends on ``CsrfDep``: a POST without
  the session's token (form field ``csrf_token`` or ``X-CSRF-Token`` header)
  is refused with 403 before it does anything.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from discflow import __version__
from discflow.domain import describe_size
from discflow.errors import (
    DeviceUnavailable,
    DiscflowError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from discflow.store import Role, SignedIn
from discflow.web.deps import get_session
from discflow.web.pages._sessions import same_token

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
HTMX = "/static/htmx-2.0.11.min.js"
FLASH_COOKIE = "df_flash"

_STATUS: tuple[tuple[type[DiscflowError], int], ...] = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (DeviceUnavailable, 503),
    (IllegalTransition, 409),
    (InvalidInput, 422),
    (QuotaExceeded, 429),
)


class CsrfRefused(PermissionDenied):
    """A form or htmx call came without the session's CSRF token."""


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(value: datetime | None) -> str:
    """Time of day only, for a live console where the date is today's."""
    return "never" if value is None else value.astimezone(UTC).strftime("%H:%M:%S")


def _left(seconds: int) -> str:
    return f"{seconds} s left" if seconds < 90 else f"{round(seconds / 60)} min left"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = describe_size
    env.filters["when"] = _when
    env.filters["left"] = _left
    env.filters["clock"] = _clock
    return env


templates = Jinja2Templates(env=_environment())

# "function" scope: the transaction commits before the response is sent, so the page a
# redirect leads to (another request, maybe another connection) already sees the write
PageSession = Annotated[Session, Depends(get_session, scope="function")]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    signed_in: SignedIn | None = getattr(request.state, "signed_in", None)
    me = signed_in.principal if signed_in else None
    base = {
        "me": me,
        "csrf": signed_in.csrf_token if signed_in else "",
        "is_operator": bool(me and me.role and me.role.at_least(Role.OPERATOR)),
        "is_admin": bool(me and me.role and me.role.at_least(Role.ADMIN)),
        "htmx": HTMX,
        "version": __version__,
        "path": request.url.path,
        "flash": unquote(request.cookies.get(FLASH_COOKIE, ""))[:500],
    }
    response = templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status, headers=headers
    )
    response.headers.setdefault("Cache-Control", "no-store")
    if base["flash"] and not name.startswith("_"):
        response.delete_cookie(FLASH_COOKIE)
    return response


def flash(response: Response, message: str) -> Response:
    """A one-time message shown on the next full page (kept in a cookie, not the URL,
    so a link cannot put words in the dashboard's mouth)."""
    response.set_cookie(
        FLASH_COOKIE, quote(message[:500]), max_age=60, httponly=True, samesite="lax"
    )
    return response


def status_for(error: DiscflowError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 500)


def error_page(request: Request, error: DiscflowError) -> HTMLResponse:
    status = status_for(error)
    titles = {
        403: "Not allowed",
        404: "Not found",
        409: "Not possible now",
        422: "Check input",
        429: "Not now",
    }
    return render(
        request,
        "error.html",
        {"title": titles.get(status, "Something went wrong"), "message": str(error)},
        status=status,
    )


class PageRoute(APIRoute):
    """A route whose discflow errors render as HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DiscflowError as error:
                return error_page(request, error)

        return page_handler


def signed_in(request: Request) -> SignedIn:
    """The browser's session, or a redirect to the sign-in page."""
    current: SignedIn | None = getattr(request.state, "signed_in", None)
    if current is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request") == "true":
            # a poll after the session ran out: send the whole page to sign-in, not
            # the sign-in form into the polled fragment
            page = urlsplit(request.headers.get("hx-current-url", "/")).path or "/"
            raise HTTPException(
                status_code=401,
                detail="signed out",
                headers={"HX-Redirect": f"/signin?next={quote(page)}"},
            )
        raise HTTPException(status_code=303, headers={"Location": f"/signin?next={quote(target)}"})
    return current


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


def operator_page(current: SignedInDep) -> SignedIn:
    current.principal.require(Role.OPERATOR)
    return current


def admin_page(current: SignedInDep) -> SignedIn:
    current.principal.require(Role.ADMIN)
    return current


OperatorPage = Annotated[SignedIn, Depends(operator_page)]
AdminPage = Annotated[SignedIn, Depends(admin_page)]


async def form_data(request: Request) -> dict[str, str]:
    """The posted form's text fields (files are read by the handler that wants them)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def csrf_checked(request: Request, current: SignedInDep) -> SignedIn:
    """Refuse a state change that lacks the session's CSRF token."""
    given = request.headers.get("x-csrf-token")
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            field = (await request.form()).get("csrf_token")
            given = field if isinstance(field, str) else None
    if not same_token(given, current.csrf_token):
        raise CsrfRefused(
            "this form was sent without its security token (or with an old one); "
            "reload the page and send it again"
        )
    return current


CsrfDep = Annotated[SignedIn, Depends(csrf_checked)]


async def operator_csrf_checked(request: Request, current: SignedInDep) -> SignedIn:
    """The role first, then the CSRF token (which may mean reading the form): a
    customer's 150 MB upload to an operator page is refused before its body is read."""
    current.principal.require(Role.OPERATOR)
    return await csrf_checked(request, current)


OperatorCsrfDep = Annotated[SignedIn, Depends(operator_csrf_checked)]


def whole_number(text: str, *, what: str, low: int, high: int) -> int:
    """A number typed into a form: ASCII digits only (``str.isdigit`` takes "²" and
    "٣"), within ``low..high`` so it fits every column it reaches."""
    given = text.strip()
    if not given.isascii() or not given.isdigit() or len(given) > len(str(high)):
        raise InvalidInput(
            f"{what}: {given[:24]!r} is not a whole number from {low} to {high}; type digits only"
        )
    value = int(given)
    if not low <= value <= high:
        raise InvalidInput(f"{what}: {value} is outside {low} to {high}")
    return value


def see_other(location: str) -> Response:
    """Post/redirect/get: the browser's back button never re-posts a form."""
    return Response(status_code=303, headers={"Location": location})
