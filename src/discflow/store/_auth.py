"""Users, roles, bearer tokens, the sign-in failure count and order quotas.

Invariants:
- Tokens are stored as sha256 digests only; the clear token is shown once,
  when it is created. (Agent tokens are also sealed: see ``store._secrets``.)
- Failed sign-ins are rows of ``signin_failures``, so the throttle holds across
  every worker process of ``discflow serve --workers N``.
- A customer's order past its quota is refused whole, before anything is
  stored: 422 when it could never fit, 429 with Retry-After when it fits later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from discflow.domain import REQUEST_FINAL, RequestState
from discflow.errors import InvalidInput, PermissionDenied, QuotaExceeded
from discflow.settings import Settings
from discflow.store._ids import new_token
from discflow.store._secrets import digest
from discflow.store._tables import ApiToken, Order, SignInFailure, User
from discflow.store._tables import Request as OrderedRequest
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


@dataclass(frozen=True, slots=True)
class OrderQuota:
    """What one customer account may have: copies ordered per 24 h, orders still open.

    0 means no limit. Operators and admins are not limited (they order for others)."""

    copies_per_day: int = 10_000
    open_orders: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> OrderQuota:
        return cls(settings.quota_copies_per_day, settings.quota_open_orders)


def check_order_quota(
    session: Session, principal: Principal, copies: int, quota: OrderQuota
) -> None:
    """Refuse an order past the account's quota: 422 if it can never fit, else 429."""
    if principal.role is None or principal.role.at_least(Role.OPERATOR):
        return
    if not quota.copies_per_day and not quota.open_orders:
        return
    # a write to the account's row first: concurrent orders of one account queue here
    # (PostgreSQL row lock; SQLite's one writer) and each counts what the others stored
    session.execute(update(User).where(User.id == principal.user_id).values(role=User.role))
    day = quota.copies_per_day
    if day and copies > day:
        raise InvalidInput(
            f"this order asks for {copies} copies; an account may order at most {day} a day"
            " (DISCFLOW_QUOTA_COPIES_PER_DAY): split it over several days or ask an operator"
        )
    if day:
        since = utcnow() - timedelta(days=1)
        recent = (
            select(Order.created_at, func.sum(OrderedRequest.copies))
            .join(OrderedRequest, OrderedRequest.order_id == Order.id)
            .where(
                Order.user_id == principal.user_id,
                Order.created_at > since,
                OrderedRequest.state != RequestState.CANCELLED.value,
            )
            .group_by(Order.id, Order.created_at)
            .order_by(Order.created_at)
        )
        rows = session.execute(recent).all()
        used = sum(int(n or 0) for _, n in rows)
        if used + copies > day:
            freed, wait = used, 60.0
            for created, count in rows:  # the oldest orders age out of the 24 h first
                freed -= int(count or 0)
                wait = (created - since).total_seconds()
                if freed + copies <= day:
                    break
            raise QuotaExceeded(
                f"{principal.name} ordered {used} copies in the last 24 hours; with these"
                f" {copies} that is over the {day} a day allowed: try again later",
                retry_after_s=max(1, math.ceil(wait)),
            )
    if quota.open_orders:
        final = [state.value for state in REQUEST_FINAL]
        open_orders = session.scalar(
            select(func.count(func.distinct(OrderedRequest.order_id)))
            .join(Order, OrderedRequest.order_id == Order.id)
            .where(Order.user_id == principal.user_id, OrderedRequest.state.not_in(final))
        )
        if int(open_orders or 0) >= quota.open_orders:
            raise QuotaExceeded(
                f"{principal.name} has {open_orders} orders still open, the most allowed"
                f" (DISCFLOW_QUOTA_OPEN_ORDERS is {quota.open_orders}): wait until some are done",
                retry_after_s=60,
            )
