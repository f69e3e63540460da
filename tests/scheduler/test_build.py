"""The fast record constructors build exactly what the dataclasses' own __init__ does."""

from __future__ import annotations

import dataclasses

import pytest

from discflow.scheduler import _build as build
from discflow.scheduler._model import Assignment, CachedContent, Download, Eviction, Plan


def test_cached_content_equals_dataclass_record() -> None:
    fast = build.cached_content("c", 7, 1.5, 2.5, 3.5, True, 4)
    slow = CachedContent("c", 7, 1.5, 2.5, 3.5, True, 4)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)


def test_assignment_download_plan_equal_dataclass_records() -> None:
    a = build.assignment("r", "d", "c", "CD-R", 2, 1.0, 9.0, 3)
    assert a == Assignment("r", "d", "c", "CD-R", 2, 1.0, 9.0, 3)
    dl = build.download("d", "c", 7, 0.5, 1.5, 1)
    assert dl == Download("d", "c", 7, 0.5, 1.5, 1)
    p = build.plan((a,), (dl,), (), (), (), (), 4.0)
    assert p == Plan(assignments=(a,), downloads=(dl,), wake_s=4.0)
    assert build.plan((), (), (), (), (), (), None) == Plan()


def test_eviction_equals_dataclass_record() -> None:
    fast = build.eviction("d", "old", 2.5, "new", 6)
    slow = Eviction("d", "old", 2.5, "new", 6)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)


def test_records_built_fast_stay_frozen() -> None:
    """Compiled, the builders set fields as C struct stores; the record is still frozen."""
    records = (
        build.cached_content("c", 7, 1.5, 2.5, 3.5, True, 4),
        build.assignment("r", "d", "c", "CD-R", 2, 1.0, 9.0, 3),
        build.download("d", "c", 7, 0.5, 1.5, 1),
        build.eviction("d", "old", 2.5, "new", 6),
        build.plan((), (), (), (), (), (), None),
    )
    for record in records:
        name = dataclasses.fields(record)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, "changed")
