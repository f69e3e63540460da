"""Users, roles and bearer tokens.

Invariants:
- Tokens are stored as sha256 digests only; the clear token is shown once,
  when it is created. (Agent tokens are also sealed: see ``store._secrets``.)
- Failed sign-ins are rows of ``signin_failures``, so the throttle holds across
  every worker process of ``discflow serve --workers N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from discflow.errors import InvalidInput, PermissionDenied
from discflow.store._ids import new_token
from discflow.store._secrets import digest
from discflow.store._tables import ApiToken, SignInFailure, User
from discflow.store._types import utcnow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class Role(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {Role.CUSTOMER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user with a role, or a device agent."""

    user_id: int | None
    name: str
    role: Role | None
    device: str | None = None

    def require(self, role: Role) -> None:
        if self.role is None or not self.role.at_least(role):
            raise PermissionDenied(f"this needs the {role.value} role; {self.name} lacks it")


def hash_token(token: str) -> str:
    return digest(token)


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}; use customer, operator or admin") from None


def ensure_user(session: Session, name: str, *, role: Role, email: str | None = None) -> User:
    """The user called ``name``, created with ``role`` if new."""
    if not _NAME.match(name):
        raise InvalidInput(f"user name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role.value, email=email)
        session.add(user)
        session.flush()
    return user


def create_token(session: Session, user: User, *, label: str = "") -> str:
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label=label))
    session.flush()
    return token


def principal_for_token(session: Session, token: str) -> Principal | None:
    row = session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False))
        # every API call comes here: one round trip for token and user, not two
        .options(joinedload(ApiToken.user))
    )
    if row is None:
        return None
    return Principal(user_id=row.user.id, name=row.user.name, role=Role(row.user.role))


def signin_failures(session: Session, keys: Sequence[str], *, since: datetime) -> dict[str, int]:
    """Failed sign-ins since ``since`` under each of ``keys``, with the oldest one's time."""
    rows = session.execute(
        select(SignInFailure.key, func.count(SignInFailure.id))
        .where(SignInFailure.key.in_(keys), SignInFailure.failed_at > since)
        .group_by(SignInFailure.key)
    ).all()
    return {key: int(count) for key, count in rows}


def oldest_signin_failure(session: Session, key: str, *, since: datetime) -> datetime | None:
    return session.scalar(
        select(func.min(SignInFailure.failed_at)).where(
            SignInFailure.key == key, SignInFailure.failed_at > since
        )
    )


def record_signin_failure(session: Session, keys: Sequence[str], *, window_start: datetime) -> None:
    """Count one failure under every key; rows past the window of anyone are swept here."""
    now = utcnow()
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= window_start))
    session.add_all(SignInFailure(key=key[:200], failed_at=now) for key in keys)


def forget_signin_failures(session: Session, key: str) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.key == key[:200]))
