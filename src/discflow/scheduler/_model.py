# The planner's input (Snapshot) and output (Plan) as frozen values.
#
# Invariants: every time is in seconds on the caller's clock (``Snapshot.now``
# is "now" on that clock); every size is in bytes. A Snapshot describes the
# world *after* every decision already handed out: drive free times include
# queued jobs, blank counts exclude discs already promised to an assignment,
# and cache listings include downloads in flight (with their ready time) but
# not contents already scheduled for eviction. Mappings are read-only by
# contract: the planner never mutates them, so a producer may share its own.
# ``make venv`` compiles this module with the planner (see _accel): its
# records are then native classes, read by the planner as C structs; they
# cannot be subclassed by interpreted classes, and are not picklable there.
"""Snapshot and Plan values of the scheduling interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from discflow.domain import Priority
from discflow.errors import SchedulingError


@dataclass(frozen=True, slots=True)
class MediaStock:
    """Blank discs of one media type in one device, and how fast it writes them.

    ``blanks`` counts discs loaded and not yet promised to an assignment.
    ``reload_pending`` is true while an operator notice for this device and
    media is outstanding; the planner then raises no second notice.
    """

    media: str
    blanks: int
    write_Bps: float  # noqa: N815 - the unit is part of the name across the project
    overhead_s: float = 60.0
    low_threshold: int = 10
    reload_pending: bool = False

    def burn_s(self, size_bytes: int) -> float:
        """Seconds one disc of ``size_bytes`` occupies a drive."""
        return self.overhead_s + size_bytes / self.write_Bps


@dataclass(frozen=True, slots=True)
class CachedContent:
    """One content held (or being downloaded) in a device's cache.

    ``ready_s`` is when the bytes are complete (past values mean "ready now");
    ``busy_until_s`` is the end of the last burn already promised from it, so it
    may not be evicted before then; ``pinned`` forbids eviction outright (an
    operator pin, or a job whose end is unknown to the caller).
    """

    content: str
    size_bytes: int
    last_used_s: float = 0.0
    ready_s: float = 0.0
    busy_until_s: float = 0.0
    pinned: bool = False
    hits: int = 1


@dataclass(frozen=True, slots=True)
class DeviceView:
    """One output device as the planner sees it.

    ``drives_free_s`` holds, per drive, when it finishes its queued work (``now``
    or earlier when idle). ``download_free_s`` is when its download link is free
    (a device downloads one content at a time). ``cached`` maps content id to
    the cache entry. Devices that are not ``online`` receive no new work.
    """

    name: str
    drives_free_s: tuple[float, ...]
    media: Mapping[str, MediaStock]
    cache_bytes: int
    cached: Mapping[str, CachedContent]
    link_Bps: float  # noqa: N815
    download_free_s: float = 0.0
    online: bool = True

    def __post_init__(self) -> None:
        if not self.drives_free_s:
            raise SchedulingError(f"device {self.name!r} has no drives; give it at least one")
        if self.link_Bps <= 0:
            raise SchedulingError(f"device {self.name!r} has link_Bps {self.link_Bps}; use > 0")


@dataclass(frozen=True, slots=True)
class QueuedRequest:
    """A request with copies still to place. ``seq`` is its arrival order number;
    ``priority`` orders rush before normal before low (with aging, see the policy)."""

    id: str
    content: str
    media: str
    copies: int
    arrival_s: float
    seq: int = 0
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True)
class Reloaded:
    """Blanks the operator loaded into a device (an event for a standing planner)."""

    device: str
    media: str
    count: int


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    """How the operator reloads: ``reload_count`` blanks, ``reload_delay_s`` after a notice."""

    reload_count: int = 100
    reload_delay_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one planning round may look at; ``requests`` are the unplaced ones."""

    now: float
    devices: tuple[DeviceView, ...]
    contents: Mapping[str, int]  # content id -> size in bytes
    media_capacity: Mapping[str, int]  # media type -> capacity in bytes
    requests: tuple[QueuedRequest, ...]
    operator: OperatorSettings = field(default_factory=OperatorSettings)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Burn ``copies`` of ``request`` on ``device``; estimated first start and last end."""

    request: str
    device: str
    content: str
    media: str
    copies: int
    start_s: float
    end_s: float
    step: int = 0  # position among this round's decisions (see Plan)


@dataclass(frozen=True, slots=True)
class Download:
    """Fetch ``content`` into ``device``'s cache (after the evictions made for it)."""

    device: str
    content: str
    size_bytes: int
    start_s: float
    end_s: float
    step: int = 0


@dataclass(frozen=True, slots=True)
class Eviction:
    """Delete ``content`` from ``device``'s cache at ``at_s`` to make room for ``for_content``."""

    device: str
    content: str
    at_s: float
    for_content: str
    step: int = 0


@dataclass(frozen=True, slots=True)
class OperatorNotice:
    """Ask the operator to load ``blanks_needed`` discs of ``media`` into ``device``."""

    device: str
    media: str
    blanks_needed: int
    requests_waiting: int
    message: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """Copies that could not be placed now but can be later (e.g. after a reload)."""

    request: str
    copies: int
    reason: str


@dataclass(frozen=True, slots=True)
class Unplaceable:
    """A request no device can ever serve, with the reason."""

    request: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The decisions of one planning round.

    Assignments, downloads and evictions carry a ``step``: carried out in
    ascending step order they reproduce the planner's estimates (an eviction
    precedes the download it makes room for, a download the burns of its
    content, and an assignment made before an eviction keeps that content
    busy until its burns end). Assignments on one device queue in step order.

    ``wake_s`` is when the policy wants to be asked again even if nothing
    happens (a drive frees soon and work is held back for it: late binding);
    None when only an arrival or a device event can change its mind.
    """

    assignments: tuple[Assignment, ...] = ()
    downloads: tuple[Download, ...] = ()
    evictions: tuple[Eviction, ...] = ()
    notices: tuple[OperatorNotice, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    unplaceable: tuple[Unplaceable, ...] = ()
    wake_s: float | None = None
