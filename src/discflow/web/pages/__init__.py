"""Server-rendered pages (Jinja2 + htmx) for customers, operators and admins.

``install_pages(app, database=...)`` mounts every page router, the static
files and the session middleware that lets pages and the API share one
permission model (a session cookie becomes ``request.state.principal``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from discflow.store import Database
from discflow.web.pages import (
    _admin,
    _auth,
    _catalog,
    _floor,
    _order_list,
    _orders,
    _tasklog,
)
from discflow.web.pages._common import STATIC_DIR
from discflow.web.pages._sessions import COOKIE, SessionMiddleware

router = APIRouter(include_in_schema=False)
for _module in (_auth, _catalog, _order_list, _orders, _floor, _tasklog, _admin):
    router.include_router(_module.router)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for it before any page links one: answer, so no console error."""
    return FileResponse(
        STATIC_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def install_pages(app: FastAPI, *, database: Database) -> None:
    """Add the pages, ``/static`` and the session middleware to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SessionMiddleware, database=database)


__all__ = [
    "COOKIE",
    "SessionMiddleware",
    "install_pages",
    "router",
]
