"""Write commands and their reports: what the dispatcher sends, what the agent answers.

Invariant: the agent's routes validate these models on the way in and the
dispatcher's client validates them on the way back, so a field added here is
added on both sides of the wire at once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from discflow.domain import (
    CopyState,
    JobState,
    Priority,
    check_merge_key,
    check_merge_value,
    check_volume_name,
    media_type,
)
from discflow.errors import UnknownMediaType

__all__ = ["CopyOut", "DiscLabel", "JobBrief", "JobCreate", "JobOut", "check_media_name"]


def check_media_name(value: str) -> str:
    """A media type's canonical name, or a ValueError pydantic turns into a 422."""
    try:
        return media_type(value).name
    except UnknownMediaType as exc:
        raise ValueError(str(exc)) from None


# the dispatcher's first label shape (before the DiscLabel contract): its keys
# become merge fields of a single set
_LEGACY_LABEL_KEYS = {"title": "TITLE", "order_id": "ORDER", "request_id": "REQUEST"}


class DiscLabel(BaseModel):
    """What to print on each disc's face: a design and one merge set per copy.

    ``design`` names a label design known to the device (a PTBurn ``.STD``, a
    TD Bridge ``.tdd``, or a built-in face for image/xorriso). ``merge`` holds
    one set per copy, in copy order (TITLE, ORDER, REQUEST, CUSTOMER, DATE,
    COPY "3 of 10"); fewer sets than copies repeat the last.
    """

    model_config = ConfigDict(extra="forbid")

    design: str | None = Field(default=None, min_length=1, max_length=200)
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
        # a design is a file name or path; a line break or control character is not
        if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("label.design: a design name cannot hold control characters")
        return value

    @field_validator("merge")
    @classmethod
    def _merge(cls, sets: list[dict[str, str]]) -> list[dict[str, str]]:
        # each value goes onto one line of a robot's job or merge file (H13, #13/#19.3)
        for fields in sets:
            for key, value in fields.items():
                check_merge_key(key)
                check_merge_value(key, value)
        return sets

    def as_mapping(self) -> dict[str, Any]:
        """The label as the runner and drivers read it."""
        return self.model_dump()


class JobCreate(BaseModel):
    """``POST /v1/jobs``: write ``copies`` discs of one cached content."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media: str
    copies: int = Field(ge=1, le=1000)
    volume_name: str = "DISCFLOW"
    verify: bool = True
    label: DiscLabel | None = None
    priority: Priority = Priority.NORMAL
    burn_speed: int | None = Field(default=None, ge=1, le=100)

    _media_name = field_validator("media")(check_media_name)

    @field_validator("volume_name")
    @classmethod
    def _volume(cls, value: str) -> str:
        # ISO 9660/Joliet volume identifier rules; it reaches job files and xorriso
        return check_volume_name(value)


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
