"""Accounts: users, passwords and browser sessions (used by the pages, the CLI and the demo).

Invariants:
- Passwords are stored only as argon2id hashes; a session id only as its
  sha256, so a leaked database gives neither a password nor a usable cookie.
- A session past ``expires_at`` is never honoured; it is deleted when seen.
- A session's CSRF token is random per session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from discflow.errors import InvalidInput
from discflow.store._auth import Principal, Role, ensure_user, hash_token
from discflow.store._events import record
from discflow.store._tables import User, WebSession
from discflow.store._types import utcnow

__all__ = [
    "MIN_PASSWORD",
    "SESSION_TTL",
    "SignedIn",
    "authenticate",
    "create_user",
    "end_session",
    "hash_password",
    "resume_session",
    "set_password",
    "start_session",
]

SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# verified against when the user does not exist, so both cases cost the same time
_DUMMY_HASH = _hasher.hash("discflow-timing-equaliser")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A browser session as the pages see it."""

    principal: Principal
    csrf_token: str
    session_hash: str


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InvalidInput("a password may have at most 1024 characters")
    return _hasher.hash(password)


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    record(session, "user.password-set", f"password set for {user.name}", actor=user.name)


def create_user(
    session: Session, name: str, *, role: Role, password: str | None, email: str | None = None
) -> User:
    """A new user (refused if the name is taken), with a password if given."""
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise InvalidInput(f"a user named {name!r} already exists; pick another name")
    if email and session.scalar(select(User).where(User.email == email)) is not None:
        raise InvalidInput(f"the e-mail address {email!r} belongs to another user")
    user = ensure_user(session, name, role=role, email=email or None)
    if password is not None:
        user.password_hash = hash_password(password)
    record(session, "user.created", f"{role.value} {name} created", actor=name)
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user if the password is right, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(session_id: str) -> str:
    return hash_token(session_id)


def start_session(session: Session, user: User, *, ttl: timedelta = SESSION_TTL) -> str:
    """Store a new session for ``user``; returns the clear id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_digest(session_id),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    # expired rows of anyone are swept here, so the table does not grow without end
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    record(session, "user.signed-in", f"{user.name} signed in", actor=user.name)
    return session_id


def resume_session(session: Session, session_id: str) -> SignedIn | None:
    """The signed-in user behind a cookie, or None if unknown or expired."""
    if not session_id or len(session_id) > 200:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(session_id)))
    if row is None:
        return None
    if row.expires_at <= utcnow():
        session.delete(row)
        return None
    user = row.user
    return SignedIn(
        principal=Principal(user_id=user.id, name=user.name, role=Role(user.role)),
        csrf_token=row.csrf_token,
        session_hash=row.token_hash,
    )


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _digest(session_id)))
