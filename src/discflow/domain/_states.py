"""Lifecycles as data: each one an enum plus a transition table.

Invariant: every state change anywhere in discflow goes through
``Lifecycle.check``, so an illegal move raises ``IllegalTransition`` naming the
object, its state and the attempted target, and the docs' diagrams can be drawn
from the same tables (``Lifecycle.mermaid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from discflow.errors import IllegalTransition


class RequestState(StrEnum):
    """One request: some copies of one content on one media type, for one address."""

    RECEIVED = "received"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    BURNING = "burning"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobState(StrEnum):
    """A write command on a device agent (CUPS-like plain job states)."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"  # out of media: waits for the operator, fails nothing
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the agent died mid-job; reported after restart


class CopyState(StrEnum):
    """One disc of a job."""

    PENDING = "pending"
    WRITING = "writing"
    VERIFYING = "verifying"
    GOOD = "good"
    FAILED_WRITE = "failed-write"
    FAILED_VERIFY = "failed-verify"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


class Availability(StrEnum):
    """A device as the scheduler sees it."""

    ONLINE = "online"
    BUSY = "busy"
    PAUSED = "paused"
    OFFLINE = "offline"
    ERROR = "error"


class DriveState(StrEnum):
    IDLE = "idle"
    WRITING = "writing"
    VERIFYING = "verifying"
    ERROR = "error"


S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Lifecycle(Generic[S]):
    """A named transition table; terminal states have no outgoing moves."""

    name: str
    initial: S
    moves: Mapping[S, frozenset[S]]

    def can(self, current: S, target: S) -> bool:
        return target in self.moves.get(current, frozenset())

    def check(self, current: S, target: S, *, subject: str = "") -> S:
        """Return ``target`` if ``current -> target`` is legal, else raise."""
        if not self.can(current, target):
            allowed = sorted(self.moves.get(current, frozenset()))
            where = f" {subject}" if subject else ""
            hint = (
                f"; from {current.value!r} it may go to {', '.join(allowed)}"
                if allowed
                else (f"; {current.value!r} is final")
            )
            raise IllegalTransition(
                f"{self.name}{where} cannot go from {current.value!r} to {target.value!r}{hint}"
            )
        return target

    def is_terminal(self, state: S) -> bool:
        return not self.moves.get(state)

    def mermaid(self) -> str:
        """The table as a Mermaid state diagram, for the docs."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        for source, targets in self.moves.items():
            for target in sorted(targets):
                lines.append(f"    {source.value} --> {target.value}")
            if not targets:
                lines.append(f"    {source.value} --> [*]")
        return "\n".join(lines)


def _table(moves: Mapping[S, set[S]]) -> dict[S, frozenset[S]]:
    return {state: frozenset(targets) for state, targets in moves.items()}


_R = RequestState
REQUEST_LIFECYCLE: Lifecycle[RequestState] = Lifecycle(
    "request",
    _R.RECEIVED,
    _table(
        {
            _R.RECEIVED: {_R.QUEUED, _R.FAILED, _R.CANCELLED},
            _R.QUEUED: {_R.ASSIGNED, _R.FAILED, _R.CANCELLED},
            # back to QUEUED: its device went away or a copy must be redone elsewhere
            _R.ASSIGNED: {_R.BURNING, _R.QUEUED, _R.FAILED, _R.CANCELLED},
            _R.BURNING: {_R.VERIFYING, _R.QUEUED, _R.FAILED, _R.CANCELLED},
            _R.VERIFYING: {_R.DONE, _R.BURNING, _R.QUEUED, _R.FAILED, _R.CANCELLED},
            _R.DONE: set(),
            _R.FAILED: set(),
            _R.CANCELLED: set(),
        }
    ),
)

_J = JobState
JOB_LIFECYCLE: Lifecycle[JobState] = Lifecycle(
    "job",
    _J.QUEUED,
    _table(
        {
            _J.QUEUED: {_J.RUNNING, _J.CANCELLED, _J.FAILED, _J.INTERRUPTED},
            _J.RUNNING: {_J.PAUSED, _J.DONE, _J.FAILED, _J.CANCELLED, _J.INTERRUPTED},
            _J.PAUSED: {_J.RUNNING, _J.CANCELLED, _J.FAILED, _J.INTERRUPTED},
            _J.DONE: set(),
            _J.FAILED: set(),
            _J.CANCELLED: set(),
            _J.INTERRUPTED: set(),
        }
    ),
)

_C = CopyState
COPY_LIFECYCLE: Lifecycle[CopyState] = Lifecycle(
    "copy",
    _C.PENDING,
    _table(
        {
            _C.PENDING: {_C.WRITING, _C.CANCELLED, _C.INTERRUPTED},
            _C.WRITING: {_C.VERIFYING, _C.GOOD, _C.FAILED_WRITE, _C.CANCELLED, _C.INTERRUPTED},
            _C.VERIFYING: {_C.GOOD, _C.FAILED_VERIFY, _C.CANCELLED, _C.INTERRUPTED},
            _C.GOOD: set(),
            _C.FAILED_WRITE: set(),
            _C.FAILED_VERIFY: set(),
            _C.INTERRUPTED: set(),
            _C.CANCELLED: set(),
        }
    ),
)

REQUEST_ACTIVE = frozenset({_R.ASSIGNED, _R.BURNING, _R.VERIFYING})
REQUEST_FINAL = frozenset({_R.DONE, _R.FAILED, _R.CANCELLED})
