"""Pin pycdlib's clock and randomness so that building an image is deterministic.

pycdlib stamps every record with ``time.time()`` (in local time) and puts a
random number in the UDF volume set identifier; it has no parameter for either.
To get the same bytes for the same tree, its modules' ``time`` and ``random``
globals are replaced, once, by proxies that defer to the real modules unless the
current thread has pinned a value with ``pinned_clock``.

Invariants: outside ``pinned_clock`` pycdlib behaves exactly as before; a pin
affects only the thread that set it; pinned local time is UTC, so the output
does not depend on the machine's time zone.
"""

from __future__ import annotations

import contextlib
import random as _random
import threading
import time as _time
from collections.abc import Iterator
from typing import Any

import pycdlib.dates
import pycdlib.headervd
import pycdlib.pycdlib
import pycdlib.udf
import pycdlib.utils

__all__ = ["pinned_clock", "set_pinned_time"]

_state = threading.local()


class _TimeProxy:
    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)

    def time(self) -> float:
        pinned: float | None = getattr(_state, "now", None)
        return _time.time() if pinned is None else pinned

    def localtime(self, secs: float | None = None) -> _time.struct_time:
        if getattr(_state, "now", None) is None:
            return _time.localtime(secs)
        return _time.gmtime(self.time() if secs is None else secs)


class _RandomProxy:
    def __getattr__(self, name: str) -> Any:
        return getattr(_random, name)

    def getrandbits(self, k: int) -> int:
        rng: _random.Random | None = getattr(_state, "rng", None)
        # bandit B311 is a false alarm: pycdlib's UDF volume-set id, reproducible on purpose
        return _random.getrandbits(k) if rng is None else rng.getrandbits(k)  # nosec B311


_installed = False
_install_lock = threading.Lock()


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        proxy = _TimeProxy()
        for module in (pycdlib.pycdlib, pycdlib.headervd, pycdlib.dates, pycdlib.udf):
            module.time = proxy  # type: ignore[attr-defined]
        pycdlib.udf.random = _RandomProxy()  # type: ignore[attr-defined,assignment]
        _installed = True


@contextlib.contextmanager
def pinned_clock(now: float, *, seed: str) -> Iterator[None]:
    """Within the block, pycdlib in this thread sees ``now`` and a seeded RNG."""
    _install()
    _state.now = float(now)
    # bandit B311 is a false alarm here: deterministic image bytes, see above
    _state.rng = _random.Random(seed)  # nosec B311
    try:
        yield
    finally:
        _state.now = None
        _state.rng = None


def set_pinned_time(now: float) -> None:
    """Move the pinned clock, e.g. to a file's mtime before adding that file."""
    if getattr(_state, "now", None) is None:
        raise RuntimeError("set_pinned_time called outside pinned_clock")
    _state.now = float(now)
