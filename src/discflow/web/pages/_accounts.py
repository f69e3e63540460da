"""Sign-in helpers that belong to the web face: the CSRF comparison and the rate limit.

Accounts themselves (users, passwords, sessions) are the store's
(``discflow.store.create_user`` and friends); they are re-exported here for
the pages that import them from this module.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from discflow.store import (
    MIN_PASSWORD,
    SESSION_TTL,
    SignedIn,
    authenticate,
    create_user,
    end_session,
    hash_password,
    resume_session,
    set_password,
    start_session,
)

__all__ = [
    "MIN_PASSWORD",
    "SESSION_TTL",
    "SignInLimiter",
    "SignedIn",
    "authenticate",
    "create_user",
    "end_session",
    "hash_password",
    "resume_session",
    "same_token",
    "set_password",
    "start_session",
]


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
