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
    HELD = "held"  # kept out of planning by a person until released (CUPS pending-held)
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


class DispatchState(StrEnum):
    """The server's record of a write command it gave one device (table ``jobs``).

    ``pending`` is the server's alone (written, not yet accepted by the agent);
    ``queued`` .. ``interrupted`` mirror the agent's ``JobState``; ``lost``
    means the server gave the job up (its device went silent, or forgot it)."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    LOST = "lost"

    @classmethod
    def mirroring(cls, agent_state: JobState) -> DispatchState:
        """The server's state for what the agent reports."""
        return cls(agent_state.value)


class DispatchReason(StrEnum):
    """Why a dispatch job is where it is, in the manner of CUPS ``job-state-reasons``.

    Code reads these, never the ``error`` sentence (which is for people)."""

    NONE = "none"
    SERVICE_OFF_LINE = "service-off-line"  # lost: its device was silent past the grace period
    DEVICE_RETURNED = "device-returned"  # a lost job rechecked on its returned device
    JOB_UNKNOWN_AT_DEVICE = "job-unknown-at-device"  # the agent no longer knows it
    JOB_CANCELED_BY_USER = "job-canceled-by-user"  # its request was cancelled
    DOCUMENT_ACCESS_ERROR = "document-access-error"  # the content could not be placed there
    JOB_REFUSED = "job-refused"  # the agent refused the command
    ABORTED_BY_SYSTEM = "aborted-by-system"  # the failure policy stopped it (too many bad discs)


class PrintState(StrEnum):
    """A mailing label in the print queue (table ``print_jobs``)."""

    PENDING = "pending"
    PRINTED = "printed"
    FAILED = "failed"  # gave up after its attempts, or its request is gone


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
            # held: only before any disc of it is planned (a job already sent runs on)
            _R.QUEUED: {_R.ASSIGNED, _R.HELD, _R.FAILED, _R.CANCELLED},
            _R.HELD: {_R.QUEUED, _R.CANCELLED},
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

_D = DispatchState
_MIRRORED = {_D.QUEUED, _D.RUNNING, _D.PAUSED, _D.DONE, _D.FAILED, _D.CANCELLED, _D.INTERRUPTED}
# The server samples the agent's state by polling, so from any active state it may
# see any later one; ``lost`` jobs are settled only from the returned agent's final word.
DISPATCH_LIFECYCLE: Lifecycle[DispatchState] = Lifecycle(
    "dispatch job",
    _D.PENDING,
    _table(
        {
            _D.PENDING: _MIRRORED | {_D.LOST},
            _D.QUEUED: (_MIRRORED - {_D.QUEUED}) | {_D.LOST},
            _D.RUNNING: (_MIRRORED - {_D.QUEUED, _D.RUNNING}) | {_D.LOST},
            _D.PAUSED: (_MIRRORED - {_D.QUEUED, _D.PAUSED}) | {_D.LOST},
            _D.LOST: {_D.DONE, _D.FAILED, _D.CANCELLED, _D.INTERRUPTED},
            _D.DONE: set(),
            _D.FAILED: set(),
            _D.CANCELLED: set(),
            _D.INTERRUPTED: set(),
        }
    ),
)
DISPATCH_ACTIVE = frozenset({_D.PENDING, _D.QUEUED, _D.RUNNING, _D.PAUSED})
DISPATCH_FINAL = frozenset(set(_D) - DISPATCH_ACTIVE)

PRINT_LIFECYCLE: Lifecycle[PrintState] = Lifecycle(
    "label",
    PrintState.PENDING,
    _table(
        {
            PrintState.PENDING: {PrintState.PRINTED, PrintState.FAILED},
            PrintState.PRINTED: set(),
            PrintState.FAILED: set(),
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
