"""Admin pages: users (with passwords) and API tokens.

Invariants: admins only; a new token is shown once, in the response to the
POST that made it (never in a URL or a cookie), and only its sha256 is kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from discflow import store
from discflow.errors import InvalidInput
from discflow.store import ApiToken, User, create_user, set_password
from discflow.web.pages._common import (
    AdminPage,
    CsrfDep,
    PageRoute,
    PageSession,
    flash,
    form_data,
    render,
    see_other,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _context(session: Session, **extra: Any) -> dict[str, Any]:
    users = list(session.scalars(select(User).order_by(User.name)))
    counts: dict[int, int] = dict(
        session.execute(
            select(ApiToken.user_id, func.count())
            .where(ApiToken.revoked.is_(False))
            .group_by(ApiToken.user_id)
        ).all()
    )
    tokens = list(
        session.scalars(
            select(ApiToken).where(ApiToken.revoked.is_(False)).order_by(ApiToken.id.desc())
        )
    )
    return {
        "title": "Users and tokens",
        "users": users,
        "token_counts": counts,
        "tokens": tokens,
        "roles": [r.value for r in store.Role],
        "new_token": "",  # nosec B105
        "error": "",
        "values": {},
        **extra,
    }


@router.get("/admin")
def admin_home(request: Request, session: PageSession, current: AdminPage) -> Response:
    return render(request, "admin.html", _context(session))


@router.post("/admin/users")
async def add_user(request: Request, session: PageSession, current: CsrfDep) -> Response:
    current.principal.require(store.Role.ADMIN)
    form = await form_data(request)
    try:
        role = store.parse_role(form.get("role", ""))
        password = form.get("password", "")
        if password != form.get("password_again", ""):
            raise InvalidInput("the two passwords differ; type the same password twice")
        create_user(
            session,
            form.get("name", "").strip(),
            role=role,
            password=password or None,
            email=form.get("email", "").strip() or None,
        )
    except InvalidInput as error:
        values = {k: v for k, v in form.items() if "password" not in k}
        return render(
            request, "admin.html", _context(session, error=str(error), values=values), status=422
        )
    return flash(see_other("/admin"), f"User {form.get('name', '').strip()} created")


@router.post("/admin/users/{name}/password")
async def reset_password(
    name: str, request: Request, session: PageSession, current: CsrfDep
) -> Response:
    current.principal.require(store.Role.ADMIN)
    form = await form_data(request)
    user = session.scalar(select(User).where(User.name == name))
    try:
        if user is None:
            raise InvalidInput(f"no user named {name!r}")
        set_password(session, user, form.get("password", ""))
    except InvalidInput as error:
        return render(request, "admin.html", _context(session, error=str(error)), status=422)
    return flash(see_other("/admin"), f"Password of {name} changed")


@router.post("/admin/tokens")
async def add_token(request: Request, session: PageSession, current: CsrfDep) -> Response:
    current.principal.require(store.Role.ADMIN)
    form = await form_data(request)
    user = session.scalar(select(User).where(User.name == form.get("user", "")))
    if user is None:
        return render(
            request,
            "admin.html",
            _context(session, error="pick an existing user for the token"),
            status=422,
        )
    token = store.create_token(session, user, label=form.get("label", "").strip()[:64] or "web")
    return render(request, "admin.html", _context(session, new_token=token, token_user=user.name))


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int, request: Request, session: PageSession, current: CsrfDep
) -> Response:
    current.principal.require(store.Role.ADMIN)
    row = session.get(ApiToken, token_id)
    if row is None:
        raise InvalidInput(f"no token with id {token_id}")
    row.revoked = True
    store.record(
        session,
        "token.revoked",
        f"token {token_id} of {row.user.name} revoked",
        actor=current.principal.name,
    )
    return flash(see_other("/admin"), f"Token {token_id} ({row.label}) revoked")
