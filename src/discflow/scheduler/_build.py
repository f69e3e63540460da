# Hot constructors for the model's frozen records (the standing planner's).
#
# A frozen dataclass's generated __init__ sets each field through
# object.__setattr__, interpreted: about 1.5 us for a 7-field record, and so
# even when mypyc compiles the model (its dataclasses keep the generated
# __init__). The standing planner builds a Plan every round, a CachedContent
# and an Assignment at every bind and an Eviction per fetch into a full cache
# (over a million records in the 100k-request run).
# These build the same record (equal, same hash and repr) by allocating it with
# the class's own __new__ (object.__new__ for the source build; a compiled
# class refuses that one) and setting its fields through their descriptors:
# about 0.45 us from source, less compiled (BENCHMARKS.md, "Planner CPU,
# session 9"). Only records without __post_init__ are built here, and the field
# order is checked at import, so a field added to the model fails loudly here
# instead of building a wrong record.
"""Positional constructors for frozen slots records, without the generated __init__."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, Final

from discflow.scheduler._model import (
    Assignment,
    CachedContent,
    Download,
    Eviction,
    OperatorNotice,
    Plan,
    Unplaceable,
    Waiting,
)

Setter = Callable[[object, Any], None]


def _setters(cls: type, names: tuple[str, ...]) -> tuple[Setter, ...]:
    """Each field's slot setter, in ``names`` order (which must be the record's)."""
    actual = tuple(f.name for f in fields(cls))
    if actual != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} changed: fields {actual}; update _build.py")
    return tuple(getattr(cls, name).__set__ for name in names)


_cc_new: Final = CachedContent.__new__  # object.__new__, or a compiled record's own
# Compiled (the model's records native), a field is set as a C struct store:
# mypyc writes a native class's attribute directly, not through the frozen
# dataclass's __setattr__. From source that assignment would raise, so the
# slot descriptors set it.
NATIVE: Final = _cc_new is not object.__new__
_cc = _setters(
    CachedContent,
    ("content", "size_bytes", "last_used_s", "ready_s", "busy_until_s", "pinned", "hits"),
)
_cc0, _cc1, _cc2, _cc3, _cc4, _cc5, _cc6 = _cc


def cached_content(
    content: str,
    size_bytes: int,
    last_used_s: float,
    ready_s: float,
    busy_until_s: float,
    pinned: bool,
    hits: int,
) -> CachedContent:
    """``CachedContent(...)`` with every field given, in field order."""
    record = _cc_new(CachedContent)
    if NATIVE:
        record.content = content  # type: ignore[misc]
        record.size_bytes = size_bytes  # type: ignore[misc]
        record.last_used_s = last_used_s  # type: ignore[misc]
        record.ready_s = ready_s  # type: ignore[misc]
        record.busy_until_s = busy_until_s  # type: ignore[misc]
        record.pinned = pinned  # type: ignore[misc]
        record.hits = hits  # type: ignore[misc]
        return record
    _cc0(record, content)
    _cc1(record, size_bytes)
    _cc2(record, last_used_s)
    _cc3(record, ready_s)
    _cc4(record, busy_until_s)
    _cc5(record, pinned)
    _cc6(record, hits)
    return record


_as_new: Final = Assignment.__new__  # object.__new__, or a compiled record's own
_as = _setters(
    Assignment, ("request", "device", "content", "media", "copies", "start_s", "end_s", "step")
)
_as0, _as1, _as2, _as3, _as4, _as5, _as6, _as7 = _as


def assignment(
    request: str,
    device: str,
    content: str,
    media: str,
    copies: int,
    start_s: float,
    end_s: float,
    step: int,
) -> Assignment:
    """``Assignment(...)`` with every field given, in field order."""
    record = _as_new(Assignment)
    if NATIVE:
        record.request = request  # type: ignore[misc]
        record.device = device  # type: ignore[misc]
        record.content = content  # type: ignore[misc]
        record.media = media  # type: ignore[misc]
        record.copies = copies  # type: ignore[misc]
        record.start_s = start_s  # type: ignore[misc]
        record.end_s = end_s  # type: ignore[misc]
        record.step = step  # type: ignore[misc]
        return record
    _as0(record, request)
    _as1(record, device)
    _as2(record, content)
    _as3(record, media)
    _as4(record, copies)
    _as5(record, start_s)
    _as6(record, end_s)
    _as7(record, step)
    return record


_dl_new: Final = Download.__new__  # object.__new__, or a compiled record's own
_dl = _setters(Download, ("device", "content", "size_bytes", "start_s", "end_s", "step"))
_dl0, _dl1, _dl2, _dl3, _dl4, _dl5 = _dl


def download(
    device: str, content: str, size_bytes: int, start_s: float, end_s: float, step: int
) -> Download:
    """``Download(...)`` with every field given, in field order."""
    record = _dl_new(Download)
    if NATIVE:
        record.device = device  # type: ignore[misc]
        record.content = content  # type: ignore[misc]
        record.size_bytes = size_bytes  # type: ignore[misc]
        record.start_s = start_s  # type: ignore[misc]
        record.end_s = end_s  # type: ignore[misc]
        record.step = step  # type: ignore[misc]
        return record
    _dl0(record, device)
    _dl1(record, content)
    _dl2(record, size_bytes)
    _dl3(record, start_s)
    _dl4(record, end_s)
    _dl5(record, step)
    return record


_ev_new: Final = Eviction.__new__  # object.__new__, or a compiled record's own
_ev = _setters(Eviction, ("device", "content", "at_s", "for_content", "step"))
_ev0, _ev1, _ev2, _ev3, _ev4 = _ev


def eviction(device: str, content: str, at_s: float, for_content: str, step: int) -> Eviction:
    """``Eviction(...)`` with every field given, in field order."""
    record = _ev_new(Eviction)
    if NATIVE:
        record.device = device  # type: ignore[misc]
        record.content = content  # type: ignore[misc]
        record.at_s = at_s  # type: ignore[misc]
        record.for_content = for_content  # type: ignore[misc]
        record.step = step  # type: ignore[misc]
        return record
    _ev0(record, device)
    _ev1(record, content)
    _ev2(record, at_s)
    _ev3(record, for_content)
    _ev4(record, step)
    return record


_pl_new: Final = Plan.__new__  # object.__new__, or a compiled record's own
_pl = _setters(
    Plan,
    ("assignments", "downloads", "evictions", "notices", "waiting", "unplaceable", "wake_s"),
)
_pl0, _pl1, _pl2, _pl3, _pl4, _pl5, _pl6 = _pl


def plan(
    assignments: tuple[Assignment, ...],
    downloads: tuple[Download, ...],
    evictions: tuple[Eviction, ...],
    notices: tuple[OperatorNotice, ...],
    waiting: tuple[Waiting, ...],
    unplaceable: tuple[Unplaceable, ...],
    wake_s: float | None,
) -> Plan:
    """``Plan(...)`` with every field given, in field order."""
    record = _pl_new(Plan)
    if NATIVE:
        record.assignments = assignments  # type: ignore[misc]
        record.downloads = downloads  # type: ignore[misc]
        record.evictions = evictions  # type: ignore[misc]
        record.notices = notices  # type: ignore[misc]
        record.waiting = waiting  # type: ignore[misc]
        record.unplaceable = unplaceable  # type: ignore[misc]
        record.wake_s = wake_s  # type: ignore[misc]
        return record
    _pl0(record, assignments)
    _pl1(record, downloads)
    _pl2(record, evictions)
    _pl3(record, notices)
    _pl4(record, waiting)
    _pl5(record, unplaceable)
    _pl6(record, wake_s)
    return record
