# Workload files of `discflow simulate` (../shared/workload-schema.md).
#
# Invariants: a parsed Workload is internally consistent (unique ids, known
# contents, positive speeds, initial caches within capacity), and every
# refusal names the JSON path of the wrong field and what would be valid.
# This module reads Python values already decoded from JSON; opening files is
# the CLI's business.
"""Workload values, parsing with field-precise errors, and serialisation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from discflow.domain import Priority
from discflow.errors import InvalidInput


class WorkloadError(InvalidInput):
    """A workload file is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class MediaSpec:
    write_Bps: float  # noqa: N815
    overhead_s: float
    loaded: int


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    name: str
    drives: int
    media: dict[str, MediaSpec]
    cache_bytes: int
    link_Bps: float  # noqa: N815
    cached: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestSpec:
    id: str
    content: str
    media: str
    copies: int
    arrival_s: float
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True)
class Workload:
    media: dict[str, int]  # media type -> capacity_bytes
    devices: tuple[DeviceSpec, ...]
    contents: dict[str, int]  # content id -> size_bytes
    requests: tuple[RequestSpec, ...]
    reload_delay_s: float = 900.0
    reload_count: int = 100


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WorkloadError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise WorkloadError(f"{path}: expected a JSON array, got {type(value).__name__}")
    return value


def _field(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise WorkloadError(f"{path}.{key}: missing; see workload-schema.md for the format")
    return obj[key]


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise WorkloadError(f"{path}: expected a non-empty string, got {value!r}")
    return value


def _num(value: Any, path: str, *, positive: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (positive and value == 0):
        want = "a positive number" if positive else "a number >= 0"
        raise WorkloadError(f"{path}: expected {want}, got {value!r}")
    return float(value)


def _int(value: Any, path: str, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise WorkloadError(f"{path}: expected an integer >= {minimum}, got {value!r}")
    return value


def _priority(value: Any, path: str) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        choices = ", ".join(p.value for p in Priority)
        raise WorkloadError(f"{path}: expected one of {choices}, got {value!r}") from None


def parse_workload(data: Any) -> Workload:
    """Check and convert a decoded workload document."""
    root = _obj(data, "workload")
    media: dict[str, int] = {}
    for name, spec in _obj(_field(root, "media", "workload"), "workload.media").items():
        p = f"workload.media.{name}"
        media[name] = _int(
            _field(_obj(spec, p), "capacity_bytes", p), f"{p}.capacity_bytes", minimum=1
        )

    contents: dict[str, int] = {}
    for i, c in enumerate(_list(_field(root, "contents", "workload"), "workload.contents")):
        p = f"workload.contents[{i}]"
        c = _obj(c, p)
        cid = _str(_field(c, "id", p), f"{p}.id")
        if cid in contents:
            raise WorkloadError(f"{p}.id: {cid!r} is listed twice; content ids must be unique")
        contents[cid] = _int(_field(c, "size_bytes", p), f"{p}.size_bytes", minimum=1)

    devices: list[DeviceSpec] = []
    names: set[str] = set()
    for i, d in enumerate(_list(_field(root, "devices", "workload"), "workload.devices")):
        devices.append(_device(_obj(d, f"workload.devices[{i}]"), i, media, contents, names))
    if not devices:
        raise WorkloadError("workload.devices: empty; list at least one device")

    requests: list[RequestSpec] = []
    ids: set[str] = set()
    for i, r in enumerate(_list(_field(root, "requests", "workload"), "workload.requests")):
        p = f"workload.requests[{i}]"
        r = _obj(r, p)
        rid = _str(_field(r, "id", p), f"{p}.id")
        if rid in ids:
            raise WorkloadError(f"{p}.id: {rid!r} is listed twice; request ids must be unique")
        ids.add(rid)
        content = _str(_field(r, "content", p), f"{p}.content")
        if content not in contents:
            raise WorkloadError(f"{p}.content: {content!r} is not in workload.contents")
        requests.append(
            RequestSpec(
                rid,
                content,
                _str(_field(r, "media", p), f"{p}.media"),
                _int(_field(r, "copies", p), f"{p}.copies", minimum=1),
                _num(_field(r, "arrival_s", p), f"{p}.arrival_s"),
                _priority(r.get("priority", "normal"), f"{p}.priority"),
            )
        )

    op = _obj(root.get("operator", {}), "workload.operator")
    return Workload(
        media=media,
        devices=tuple(devices),
        contents=contents,
        requests=tuple(requests),
        reload_delay_s=_num(op.get("reload_delay_s", 900), "workload.operator.reload_delay_s"),
        reload_count=_int(op.get("reload_count", 100), "workload.operator.reload_count", minimum=1),
    )


def _device(
    d: dict[str, Any], i: int, media: dict[str, int], contents: dict[str, int], names: set[str]
) -> DeviceSpec:
    p = f"workload.devices[{i}]"
    name = _str(_field(d, "name", p), f"{p}.name")
    if name in names:
        raise WorkloadError(f"{p}.name: {name!r} is listed twice; device names must be unique")
    names.add(name)
    specs: dict[str, MediaSpec] = {}
    for m, spec in _obj(_field(d, "media", p), f"{p}.media").items():
        mp = f"{p}.media.{m}"
        if m not in media:
            raise WorkloadError(f"{mp}: media type {m!r} is not in workload.media")
        spec = _obj(spec, mp)
        specs[m] = MediaSpec(
            _num(_field(spec, "write_Bps", mp), f"{mp}.write_Bps", positive=True),
            _num(spec.get("overhead_s", 0), f"{mp}.overhead_s"),
            _int(_field(spec, "loaded", mp), f"{mp}.loaded"),
        )
    cache_bytes = _int(_field(d, "cache_bytes", p), f"{p}.cache_bytes")
    cached = tuple(
        _str(c, f"{p}.cached[{k}]") for k, c in enumerate(_list(d.get("cached", []), f"{p}.cached"))
    )
    for k, c in enumerate(cached):
        if c not in contents:
            raise WorkloadError(f"{p}.cached[{k}]: {c!r} is not in workload.contents")
    if len(set(cached)) != len(cached):
        raise WorkloadError(f"{p}.cached: lists a content twice")
    held = sum(contents[c] for c in cached)
    if held > cache_bytes:
        raise WorkloadError(
            f"{p}.cached: the listed contents take {held} bytes, more than"
            f" cache_bytes {cache_bytes}; raise cache_bytes or list fewer"
        )
    return DeviceSpec(
        name,
        _int(_field(d, "drives", p), f"{p}.drives", minimum=1),
        specs,
        cache_bytes,
        _num(_field(d, "link_Bps", p), f"{p}.link_Bps", positive=True),
        cached,
    )


def workload_to_dict(w: Workload) -> dict[str, Any]:
    """The workload as the schema's JSON document."""
    return {
        "media": {m: {"capacity_bytes": c} for m, c in w.media.items()},
        "devices": [
            {
                "name": d.name,
                "drives": d.drives,
                "media": {
                    m: {"write_Bps": s.write_Bps, "overhead_s": s.overhead_s, "loaded": s.loaded}
                    for m, s in d.media.items()
                },
                "cache_bytes": d.cache_bytes,
                "link_Bps": d.link_Bps,
                "cached": list(d.cached),
            }
            for d in w.devices
        ],
        "contents": [{"id": c, "size_bytes": s} for c, s in w.contents.items()],
        "requests": [_request_doc(r) for r in w.requests],
        "operator": {"reload_delay_s": w.reload_delay_s, "reload_count": w.reload_count},
    }


def _request_doc(r: RequestSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": r.id,
        "content": r.content,
        "media": r.media,
        "copies": r.copies,
        "arrival_s": r.arrival_s,
    }
    if r.priority is not Priority.NORMAL:  # optional field; absent means normal
        doc["priority"] = r.priority.value
    return doc
