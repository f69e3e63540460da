"""HTTP bodies of the agent API (pydantic), separate from the runner's records.

Invariant: these models are the wire contract with the server's dispatcher
(ARCHITECTURE.md, "Device agent contract"); the runner never sees them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from discflow.domain import Availability, CopyState, DriveState, JobState, media_type
from discflow.errors import UnknownMediaType

__all__ = [
    "AgentStatus",
    "CacheEntryOut",
    "CopyOut",
    "DriveOut",
    "JobBrief",
    "JobCreate",
    "JobOut",
    "MediaAdd",
    "MediaOut",
    "PartialOut",
]


def _media(value: str) -> str:
    try:
        return media_type(value).name
    except UnknownMediaType as exc:
        raise ValueError(str(exc)) from None


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media: str
    copies: int = Field(ge=1, le=1000)
    volume_name: str = Field("DISCFLOW", min_length=1, max_length=32)
    verify: bool = True
    label: dict[str, Any] | None = None

    _media_name = field_validator("media")(_media)


class MediaAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media: str
    count: int = Field(ge=-100_000, le=100_000)

    _media_name = field_validator("media")(_media)


class CopyOut(BaseModel):
    index: int
    state: CopyState
    drive: int | None
    output: str | None
    error: str | None
    progress: float


class JobOut(BaseModel):
    job_id: str
    state: JobState
    content_sha256: str
    media: str
    copies_requested: int
    volume_name: str
    verify: bool
    good: int
    failed: int
    copies: list[CopyOut]
    error: str | None


class JobBrief(BaseModel):
    job_id: str
    state: JobState


class DriveOut(BaseModel):
    index: int
    state: DriveState
    job_id: str | None
    progress: float


class MediaOut(BaseModel):
    media: str
    loaded: int  # blanks in the bin now
    write_Bps: int  # noqa: N815
    overhead_s: float
    low_threshold: int
    loaded_total: int
    used_good: int
    used_failed: int
    in_drive: int


class CacheEntryOut(BaseModel):
    sha256: str
    size_bytes: int
    last_used: float


class PartialOut(BaseModel):
    sha256: str
    complete: bool
    received_bytes: int
    total_bytes: int | None


class AgentStatus(BaseModel):
    """The claim-6 resource record, also the heartbeat body."""

    name: str
    driver: str
    address: str
    availability: Availability
    drives: list[DriveOut]
    media: list[MediaOut]
    cache: list[CacheEntryOut]
    cache_capacity_bytes: int
    cache_free_bytes: int
    link_Bps: int  # noqa: N815
    jobs: list[JobBrief]
    device_message: str = ""
