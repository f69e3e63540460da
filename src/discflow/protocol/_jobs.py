"""Write commands and their reports: what the dispatcher sends, what the agent answers.

Invariant: the agent's routes validate these models on the way in and the
dispatcher's client validates them on the way back, so a field added here is
added on both sides of the wire at once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from discflow.domain import CopyState, JobState, Priority, media_type
from discflow.errors import UnknownMediaType

__all__ = ["CopyOut", "DiscLabel", "JobBrief", "JobCreate", "JobOut", "check_media_name"]


def check_media_name(value: str) -> str:
    """A media type's canonical name, or a ValueError pydantic turns into a 422."""
    try:
        return media_type(value).name
    except UnknownMediaType as exc:
        raise ValueError(str(exc)) from None


class DiscLabel(BaseModel):
    """What goes on the disc face: a design and one merge set per copy.

    ``merge`` has one mapping per copy (title, order, request, customer, date,
    copy "3 of 10"); the older flat fields describe the whole job. Drivers
    may carry their own keys (a label file) until their contract is settled,
    hence ``extra="allow"``."""

    model_config = ConfigDict(extra="allow")

    design: str | None = Field(default=None, max_length=255)
    merge: list[dict[str, str]] = Field(default_factory=list, max_length=1000)
    title: str | None = None
    order_id: str | None = None
    request_id: str | None = None
    customer: str | None = None

    def as_mapping(self) -> dict[str, Any]:
        """The label as the runner and drivers read it (fields left unset are absent)."""
        return self.model_dump(exclude_none=True, exclude_defaults=False)


class JobCreate(BaseModel):
    """``POST /v1/jobs``: write ``copies`` discs of one cached content."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media: str
    copies: int = Field(ge=1, le=1000)
    volume_name: str = Field("DISCFLOW", min_length=1, max_length=32)
    verify: bool = True
    label: DiscLabel | None = None
    priority: Priority = Priority.NORMAL
    burn_speed: int | None = Field(default=None, ge=1, le=100)

    _media_name = field_validator("media")(check_media_name)


class CopyOut(BaseModel):
    index: int
    state: CopyState
    drive: int | None
    output: str | None
    error: str | None
    progress: float


class JobOut(BaseModel):
    """A job as its agent sees it (``GET /v1/jobs/{id}``, and the answer to a submit)."""

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

    def copy_states(self) -> list[CopyState]:
        return [copy.state for copy in self.copies]

    def last_error(self) -> str:
        """The job's own error, else the last disc's."""
        errors = [copy.error for copy in self.copies if copy.error]
        return self.error or (errors[-1] if errors else "")


class JobBrief(BaseModel):
    job_id: str
    state: JobState
