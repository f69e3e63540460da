"""The one interface every device driver implements, and the values it speaks.

Invariants: a driver only fetches and translates; the agent's job runner owns
copies, retries, blanks and persistence. ``WriteReport.discs`` is append-only
per handle (disc *i* stays disc *i*) and each disc's state only moves forward
along ``COPY_LIFECYCLE``; a disc is reported ``GOOD`` only after the device
verified it (when the order asked for verification). Native device states are
mapped into ``JobState``/``CopyState`` by each driver's lookup table. A command
to a device that cannot be reached raises ``DeviceUnavailable``; it never
silently returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from discflow.domain import CopyState, DeviceReason, JobState, Priority, media_type
from discflow.errors import InvalidInput

__all__ = [
    "Capabilities",
    "check_media",
    "DeviceReport",
    "DiscReport",
    "Driver",
    "DriverSettings",
    "DriverSpec",
    "MediaTiming",
    "WriteOrder",
    "WriteReport",
]


@dataclass(frozen=True, slots=True)
class MediaTiming:
    write_Bps: int
    overhead_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Capabilities:
    """``per_drive``: the agent hands one disc at a time to a named drive
    (image, xorriso, sim). Otherwise the device's robot runs whole jobs and
    picks drives itself (ptburn, tdbridge)."""

    per_drive: bool
    media: frozenset[str] = frozenset()  # empty: any media the config lists
    # the device prints one merge set per job (PTBurn MergeField): the runner
    # sends one job per distinct set of label values
    one_merge_set_per_job: bool = False
    # the label design this device prints when a job names none (its config's
    # ``label_design``: a design file on the robot's own PC)
    label_design: str | None = None


def check_media(capabilities: Capabilities, media: str, *, device: str) -> None:
    """``InvalidInput`` when ``capabilities.media`` (media families) excludes ``media``."""
    family = media_type(media).family
    if capabilities.media and media not in capabilities.media and family not in capabilities.media:
        takes = ", ".join(sorted(capabilities.media))
        raise InvalidInput(
            f"{device} cannot write {media}: its robot takes {takes}; "
            "send this order to a device that writes it"
        )


@dataclass(frozen=True, slots=True)
class WriteOrder:
    """Write ``copies`` discs of one cached image."""

    order_id: str  # unique per submit; safe as a file name (letters, digits, - and _)
    job_id: str
    image: Path
    sha256: str
    size_bytes: int
    media: str
    copies: int
    volume_name: str
    verify: bool
    drive: int | None = None  # per-drive drivers get one disc on one drive
    priority: Priority = Priority.NORMAL
    burn_speed: int | None = None  # x speed; None: the drive's fastest
    label_design: str | None = None  # print a face with this design, when given
    merge: tuple[Mapping[str, str], ...] = ()  # one merge set per disc of this order


@dataclass(frozen=True, slots=True)
class DiscReport:
    state: CopyState
    progress: float = 0.0
    output: str | None = None
    error: str | None = None
    blank_used: bool = True  # False: refused before writing (no disc, wrong media...)


@dataclass(frozen=True, slots=True)
class WriteReport:
    state: JobState
    discs: tuple[DiscReport, ...] = ()
    progress: float = 0.0
    error: str | None = None
    out_of_media: bool = False  # the device waits for blanks; nothing has failed


@dataclass(frozen=True, slots=True)
class DeviceReport:
    ok: bool
    message: str = ""
    details: Mapping[str, str] = field(default_factory=dict)
    reasons: tuple[DeviceReason, ...] = ()  # mapped from the device's codes by the driver


@dataclass(frozen=True, slots=True)
class DriverSettings:
    device_name: str
    drives: int
    options: Mapping[str, object]
    media: Mapping[str, MediaTiming]
    work_dir: Path  # a folder the driver may use for its own files


class Driver(Protocol):
    def capabilities(self) -> Capabilities:
        """What this device can do; constant for the driver's lifetime."""
        ...

    def check_order(self, media: str, *, copies: int) -> None:
        """Refuse, before any job file is written, an order this device cannot take
        (``InvalidInput`` naming the media and what the device takes)."""
        ...

    async def submit(self, order: WriteOrder) -> str:
        """Start writing; return a handle for ``poll``/``cancel``. Raises ``DriverError``."""
        ...

    async def poll(self, handle: str) -> WriteReport:
        """The order's current state; raises ``DeviceUnavailable`` when unreachable."""
        ...

    async def cancel(self, handle: str) -> bool:
        """Ask the device to stop the order. True when the device confirmed (or the
        order had already ended); False when it refused and the order goes on.
        A device that answers later keeps reporting through ``poll``."""
        ...

    async def device_status(self) -> DeviceReport:
        """The device as a whole (robot errors, bins, ink)."""
        ...

    async def close(self) -> None: ...


class DriverFactory(Protocol):
    def __call__(self, settings: DriverSettings) -> Driver: ...


@dataclass(frozen=True, slots=True)
class DriverSpec:
    factory: DriverFactory
    options_model: type[BaseModel]
    description: str
