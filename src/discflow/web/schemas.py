"""HTTP bodies: ``XCreate`` in, ``XPublic`` out; separate from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from discflow.domain import Address, Priority, unprintable
from discflow.protocol import DeviceReasonOut


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    lines: list[str] = Field(min_length=1, max_length=4)
    city: str = Field(min_length=1, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2, e.g. US")

    def to_domain(self) -> Address:
        return Address(
            name=self.name,
            lines=tuple(self.lines),
            city=self.city,
            postal_code=self.postal_code,
            country=self.country.upper(),
            region=self.region,
        )


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_id: str = Field(min_length=1, max_length=64)
    media: str = Field(min_length=1, max_length=16, examples=["CD-R"])
    copies: int = Field(ge=1, le=1000)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[RequestIn] = Field(min_length=1, max_length=100)
    ship_to: AddressIn
    priority: Priority = Field(
        default=Priority.NORMAL, description="how soon to burn every request of the order"
    )


class HoldRequest(BaseModel):
    """Why the order is held (shown on the order page and in its log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)

    @field_validator("reason")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if bad := unprintable(value):
            raise ValueError(f"the reason holds {bad}: give it as one line of text")
        return value.strip()


class RequestPublic(BaseModel):
    id: str
    content_id: str
    media: str
    copies: int
    good_copies: int
    failed_copies: int
    state: str
    reason: str
    priority: Priority


class OrderPublic(BaseModel):
    id: str
    state: str
    priority: Priority = Field(description="the most urgent priority among its requests")
    user: str
    source: str
    created_at: datetime
    ship_to: dict[str, Any]
    requests: list[RequestPublic]


class ContentPublic(BaseModel):
    id: str
    title: str
    description: str
    tags: list[str]
    size_bytes: int
    sha256: str
    volume_id: str
    filesystems: list[str]
    media: list[str] = Field(description="the media types this content fits on")
    created_at: datetime


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    driver: str
    address: str = Field(description="the agent's base URL, e.g. http://10.0.0.5:8101")
    site: str = Field(default="main", description="the site (fleet) it belongs to")


class MediaPublic(BaseModel):
    media: str
    loaded: int
    loaded_total: int
    used_good: int
    used_failed: int
    write_Bps: int
    overhead_s: float
    low_threshold: int


class CachePublic(BaseModel):
    sha256: str
    size_bytes: int
    last_used: float


class DevicePublic(BaseModel):
    """The claim-6 resource record."""

    name: str
    driver: str
    address: str
    site: str  # the site whose dispatcher plans it (issue 17 item 5)
    availability: str
    drives: list[dict[str, Any]]
    drive_count: int
    media: list[MediaPublic]
    cache: list[CachePublic]
    cache_capacity_bytes: int
    cache_free_bytes: int
    link_Bps: int
    last_seen_at: datetime | None
    enrol_code: str | None = None
    # the device's conditions from its last heartbeat ("pub-3: cover open"), H13
    reasons: list[DeviceReasonOut] = Field(default_factory=list)


class DeviceForCustomer(BaseModel):
    """What a customer sees of a device: enough to choose media, nothing about the floor
    (no address, drives, blank counts or cache)."""

    name: str
    availability: str
    media: list[str]  # the media types it holds blanks of now


class EnrolIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=63)
    address: str | None = None


class EventPublic(BaseModel):
    id: int
    at: datetime
    type: str
    order_id: str | None
    request_id: str | None
    device: str | None
    content_id: str | None
    job_id: str | None
    actor: str
    message: str
    data: dict[str, Any]
