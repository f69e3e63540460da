"""The lifecycle of a media creation request, as a table (no I/O).

``created`` (N-CREATE, Execution Status IDLE) -> ``building`` (N-ACTION initiate:
the file-sets are being made) -> ``ordered`` (a discflow order burns them; the
Execution Status follows its requests) -> ``done`` | ``failed`` | ``cancelled``.
"""

from __future__ import annotations

from enum import StrEnum

from discflow.errors import IllegalTransition


class RequestState(StrEnum):
    CREATED = "created"
    BUILDING = "building"
    ORDERED = "ordered"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.CREATED: frozenset({RequestState.BUILDING, RequestState.CANCELLED}),
    RequestState.BUILDING: frozenset({RequestState.ORDERED, RequestState.FAILED}),
    RequestState.ORDERED: frozenset(
        {RequestState.DONE, RequestState.FAILED, RequestState.CANCELLED}
    ),
    RequestState.DONE: frozenset(),
    RequestState.FAILED: frozenset(),
    RequestState.CANCELLED: frozenset(),
}


def check_move(uid: str, current: RequestState, target: RequestState) -> RequestState:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"media creation request {uid} cannot go from {current.value} to {target.value}"
        )
    return target
