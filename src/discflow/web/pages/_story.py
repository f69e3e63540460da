"""An order's history told to its customer: plain sentences, no server words.

Invariants:
- Pure: task-log events and the order's requests in, sentences out (no
  session, no clock), so every wording is unit-tested.
- A customer never reads an event name, a device name, a printer, a file
  path or a job id: those are for operators, who read the raw task log.
- Consecutive disc counts of one request fold into one line that moves
  forward ("3 of 10 discs ready"), so a 1,000-disc order stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class _Event(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def type(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def job_id(self) -> str | None: ...
    @property
    def data(self) -> dict[str, object]: ...


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the story needs to know about one request."""

    id: str
    title: str
    media: str
    copies: int


@dataclass(frozen=True, slots=True)
class StoryLine:
    at: datetime
    text: str
    request_id: str | None = None
    kind: str = ""  # folds consecutive lines of one kind and request


def _discs(count: int) -> str:
    return f"{count} disc{'' if count == 1 else 's'}"


def _sentence(event: _Event, facts: RequestFacts | None) -> tuple[str, str] | None:
    """(kind, text) for one event, or None when it is not the customer's business."""
    if event.type == "order.received":
        return "order", "We received your order."
    if event.type == "order.cancelled":
        return "order", "The order was cancelled; discs already made still ship."
    if event.type == "order.held":
        return "order", "The order is on hold: nothing more of it is made until it is released."
    if event.type == "order.released":
        return "order", "The order was released and is back in the queue."
    if event.type == "label.printed":
        return "label", "Shipping label printed."
    if event.type == "label.requeued":
        return "label", "A new shipping label was asked for."
    if facts is None:
        return None
    what = f"{_discs(facts.copies)} of “{facts.title}” ({facts.media})"
    plain = {
        "request.queued": f"Your {what}: waiting for a free disc burner.",
        "request.assigned": f"Your {what}: a disc burner was chosen.",
        "request.burning": f"Your {what} are being burned.",
        "request.verifying": f"Your {what} are being checked.",
        "request.done": f"All {what} are made and checked.",
        "request.failed": f"We could not make your {what}; we will contact you.",
        "request.cancelled": f"Your {what}: cancelled.",
        "disc.failed": f"A disc of “{facts.title}” failed its check and will be made again.",
    }
    text = plain.get(event.type)
    return (event.type, text) if text else None


def customer_story(events: Iterable[_Event], requests: Sequence[RequestFacts]) -> list[StoryLine]:
    """The order's events as sentences a customer understands, oldest first."""
    facts = {r.id: r for r in requests}
    good_by_job: dict[str, dict[str, int]] = {}
    lines: list[StoryLine] = []
    for event in events:
        request = facts.get(event.request_id or "")
        if event.type == "disc.good" and request is not None:
            jobs = good_by_job.setdefault(request.id, {})
            good = event.data.get("good", 0)
            jobs[event.job_id or ""] = good if isinstance(good, int) else 0
            made = min(request.copies, sum(jobs.values()))
            line = StoryLine(
                event.at,
                f"{made} of {_discs(request.copies)} of “{request.title}” ready.",
                request.id,
                "disc.good",
            )
        else:
            said = _sentence(event, request)
            if said is None:
                continue
            line = StoryLine(event.at, said[1], request.id if request else None, said[0])
        last = lines[-1] if lines else None
        if last and (last.kind, last.request_id) == (line.kind, line.request_id):
            if last.text == line.text or line.kind == "disc.good":
                lines[-1] = line
                continue
        lines.append(line)
    return lines
