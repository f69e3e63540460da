"""Passwords, browser sessions and the sign-in rate limit.

Invariants:
- Passwords are stored only as argon2id hashes; a session id only as its
  sha256, so a leaked database gives neither a password nor a usable cookie.
- A session past ``expires_at`` is never honoured; it is deleted when seen.
- A session's CSRF token is random per session and compared in constant time.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from discflow import store
from discflow.errors import InvalidInput
from discflow.store import Principal, Role, User
from discflow.store._tables import WebSession

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
    store.record(session, "user.password-set", f"password set for {user.name}", actor=user.name)


def create_user(
    session: Session, name: str, *, role: Role, password: str | None, email: str | None = None
) -> User:
    """A new user (refused if the name is taken), with a password if given."""
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise InvalidInput(f"a user named {name!r} already exists; pick another name")
    if email and session.scalar(select(User).where(User.email == email)) is not None:
        raise InvalidInput(f"the e-mail address {email!r} belongs to another user")
    user = store.ensure_user(session, name, role=role, email=email or None)
    if password is not None:
        user.password_hash = hash_password(password)
    store.record(session, "user.created", f"{role.value} {name} created", actor=name)
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
    return store.hash_token(session_id)


def start_session(session: Session, user: User, *, ttl: timedelta = SESSION_TTL) -> str:
    """Store a new session for ``user``; returns the clear id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    now = store.utcnow()
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
    store.record(session, "user.signed-in", f"{user.name} signed in", actor=user.name)
    return session_id


def resume_session(session: Session, session_id: str) -> SignedIn | None:
    """The signed-in user behind a cookie, or None if unknown or expired."""
    if not session_id or len(session_id) > 200:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(session_id)))
    if row is None:
        return None
    if row.expires_at <= store.utcnow():
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


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and secrets.compare_digest(str(given).encode(), expected.encode())


class SignInLimiter:
    """At most ``attempts`` failed sign-ins per (user, client address) in ``window_s``."""

    def __init__(
        self, *, attempts: int = 5, window_s: float = 900.0, max_keys: int = 10_000
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, name: str, client: str, *, now: float | None = None) -> float:
        """Seconds to wait before another attempt is allowed (0 when allowed now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent((name.strip().lower(), client), now)
            if len(failures) < self.attempts:
                return 0.0
            return failures[0] + self.window_s - now

    def failed(self, name: str, client: str, *, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent((name.strip().lower(), client), now).append(now)
            if len(self._failures) > self.max_keys:
                self._forget_old(now)

    def _forget_old(self, now: float) -> None:
        # a spray of made-up names must not grow memory without end: drop what has
        # aged out, then (still too many) the keys whose last failure is oldest
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window_s]:
            del self._failures[key]
        if len(self._failures) > self.max_keys:
            by_age = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in by_age[: len(by_age) - self.max_keys // 2]:
                del self._failures[key]

    def succeeded(self, name: str, client: str) -> None:
        with self._lock:
            self._failures.pop((name.strip().lower(), client), None)
