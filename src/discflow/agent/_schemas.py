"""HTTP bodies of the agent API (pydantic), separate from the runner's records.

Invariant: these models are the wire contract with the server's dispatcher
(ARCHITECTURE.md, "Device agent contract"); the runner never sees them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from discflow.domain import (
    Availability,
    CopyState,
    DeviceStateReason,
    DriveState,
    JobState,
    Priority,
    ReasonSeverity,
    check_merge_key,
    check_merge_value,
    check_volume_name,
    media_type,
)
from discflow.errors import UnknownMediaType

__all__ = [
    "AgentStatus",
    "CacheEntryOut",
    "CopyOut",
    "DiscLabel",
    "DeviceReasonOut",
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


# the dispatcher's first label shape (before the DiscLabel contract): its keys
# become merge fields, every one checked like any other merge value
_LEGACY_LABEL_KEYS = {"title": "TITLE", "order_id": "ORDER", "request_id": "REQUEST"}


class DiscLabel(BaseModel):
    """What to print on each disc's face: a design and one merge set per copy.

    ``design`` names a label design known to the device (a PTBurn ``.STD``, a
    TD Bridge ``.tdd``, or a built-in face for image/xorriso). ``merge`` holds
    one set per copy, in copy order; fewer sets than copies repeat the last.
    The agent adds ``COPY`` ("3 of 10") to a set that lacks it.
    """

    model_config = ConfigDict(extra="forbid")

    design: str | None = Field(None, min_length=1, max_length=200)
    merge: list[dict[str, str]] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        if isinstance(data, dict) and not {"design", "merge"} & set(data):
            fields = {_LEGACY_LABEL_KEYS.get(k, k.upper()): str(v) for k, v in data.items()}
            return {"design": None, "merge": [fields] if fields else []}
        return data

    @field_validator("design")
    @classmethod
    def _design(cls, value: str | None) -> str | None:
        # a design is a file name or path: ':' '\\' ',' '=' are fine after the key's '=',
        # a line break or control character is not
        if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("label.design: a design name cannot hold control characters")
        return value

    @field_validator("merge")
    @classmethod
    def _merge(cls, sets: list[dict[str, str]]) -> list[dict[str, str]]:
        for fields in sets:
            for key, value in fields.items():
                check_merge_key(key)
                check_merge_value(key, value)
        return sets


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media: str
    copies: int = Field(ge=1, le=1000)
    volume_name: str = "DISCFLOW"
    verify: bool = True
    priority: Priority = Priority.NORMAL
    burn_speed: int | None = Field(None, ge=1, le=100)  # PTBurn BurnSpeed range, 2.1.14
    label: DiscLabel | None = None

    _media_name = field_validator("media")(_media)

    @field_validator("volume_name")
    @classmethod
    def _volume(cls, value: str) -> str:
        return check_volume_name(value)


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


class DeviceReasonOut(BaseModel):
    """One ``discflow.domain.DeviceReason`` on the wire."""

    reason: DeviceStateReason
    severity: ReasonSeverity
    message: str
    detail: str = ""


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
    reasons: list[DeviceReasonOut] = Field(default_factory=list)
