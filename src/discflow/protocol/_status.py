"""The agent's resource record (claim 6): ``GET /v1/status`` and every heartbeat.

Invariant: one model serves the agent that writes it, the dispatcher that
reads it and the server's heartbeat intake, so the bounds checked here are
the bounds every side relies on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from discflow.domain import (
    Availability,
    DeviceReason,
    DeviceStateReason,
    DriveState,
    ReasonSeverity,
)
from discflow.protocol._jobs import JobBrief, check_media_name

__all__ = [
    "AgentStatus",
    "DriverName",
    "CacheEntryOut",
    "DriveOut",
    "MediaAdd",
    "MediaOut",
    "PartialOut",
    "DeviceReasonOut",
]


class DriverName(StrEnum):
    """The device drivers an agent may run: the one list of their names (the agent's
    registry is keyed by these; the server checks a registered device against them)."""

    IMAGE = "image"
    XORRISO = "xorriso"
    PTBURN = "ptburn"
    TDBRIDGE = "tdbridge"
    SIM = "sim"


class DriveOut(BaseModel):
    index: int = Field(ge=0)
    state: DriveState = DriveState.IDLE
    job_id: str | None = None
    progress: float = Field(default=0.0, ge=0.0, le=1.0)


class MediaOut(BaseModel):
    media: str
    loaded: int = Field(ge=0)  # blanks in the bin now
    write_Bps: int = Field(ge=0)
    overhead_s: float = Field(default=60.0, ge=0)
    low_threshold: int = Field(default=10, ge=0)
    loaded_total: int = Field(default=0, ge=0)
    used_good: int = Field(default=0, ge=0)
    used_failed: int = Field(default=0, ge=0)
    in_drive: int = Field(default=0, ge=0)
    # When the agent read these counts (its own clock, seconds since the epoch; 0:
    # not said). A heartbeat built before an operator's reload can reach the server
    # after the reload's answer: the server keeps the newer counts (apply_heartbeat).
    counted_at: float = Field(default=0.0, ge=0)


class MediaAdd(BaseModel):
    """``POST /v1/media``: the operator loaded (or, negative, took out) blanks."""

    model_config = ConfigDict(extra="forbid")

    media: str
    count: int = Field(ge=-100_000, le=100_000)

    _media_name = field_validator("media")(check_media_name)


class CacheEntryOut(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    last_used: float = 0.0


class PartialOut(BaseModel):
    sha256: str
    complete: bool
    received_bytes: int
    total_bytes: int | None


class DeviceReasonOut(BaseModel):
    """One ``DeviceReason`` on the wire (CUPS printer-state-reasons keyword + severity)."""

    reason: DeviceStateReason
    severity: ReasonSeverity = ReasonSeverity.ERROR
    message: str = Field(default="", max_length=500)
    detail: str = Field(default="", max_length=100)

    def to_domain(self) -> DeviceReason:
        return DeviceReason(self.reason, self.severity, self.message, self.detail)

    @classmethod
    def of(cls, reason: DeviceReason) -> DeviceReasonOut:
        return cls(
            reason=reason.reason,
            severity=reason.severity,
            message=reason.message,
            detail=reason.detail,
        )


class AgentStatus(BaseModel):
    """What an agent reports in ``GET /v1/status`` and in its heartbeats."""

    name: str
    driver: str
    address: str = ""
    availability: Availability
    drives: list[DriveOut]
    media: list[MediaOut]
    cache: list[CacheEntryOut]
    cache_capacity_bytes: int = Field(ge=0)
    cache_free_bytes: int = Field(ge=0)
    link_Bps: int = Field(default=100_000_000, gt=0)
    jobs: list[JobBrief] = Field(default_factory=list)
    device_message: str = ""
    reasons: list[DeviceReasonOut] = Field(default_factory=list)

    def device_reasons(self) -> list[DeviceReason]:
        return [reason.to_domain() for reason in self.reasons]
