"""Builders for small, exact scheduler scenarios."""

from __future__ import annotations

from typing import Any

from discflow.scheduler import (
    Assignment,
    CachedContent,
    DeviceView,
    DiscflowPlanner,
    Download,
    MediaStock,
    OperatorSettings,
    Plan,
    QueuedRequest,
    Snapshot,
)


def device(
    name: str,
    *,
    drives: tuple[float, ...] = (0.0,),
    blanks: int = 100,
    write_Bps: float = 10.0,
    overhead_s: float = 0.0,
    cache_bytes: int = 10_000,
    cached: tuple[CachedContent, ...] = (),
    link_Bps: float = 10.0,
    low_threshold: int = 10,
    reload_pending: bool = False,
    media: str = "CD-R",
) -> DeviceView:
    return DeviceView(
        name=name,
        drives_free_s=drives,
        media={
            media: MediaStock(media, blanks, write_Bps, overhead_s, low_threshold, reload_pending)
        },
        cache_bytes=cache_bytes,
        cached={c.content: c for c in cached},
        link_Bps=link_Bps,
    )


def snapshot(
    devices: list[DeviceView],
    requests: list[tuple[str, str, int]],
    *,
    contents: dict[str, int],
    now: float = 0.0,
    media: str = "CD-R",
) -> Snapshot:
    return Snapshot(
        now=now,
        devices=tuple(devices),
        contents=contents,
        media_capacity={"CD-R": 700_000, "DVD-R": 4_700_000},
        requests=tuple(
            QueuedRequest(rid, content, media, copies, 0.0, seq)
            for seq, (rid, content, copies) in enumerate(requests)
        ),
        operator=OperatorSettings(reload_count=100, reload_delay_s=900.0),
    )


def workload_doc(**overrides: Any) -> dict[str, Any]:
    """The schema's example workload, with top-level overrides."""
    doc: dict[str, Any] = {
        "media": {
            "CD-R": {"capacity_bytes": 737280000},
            "DVD-R": {"capacity_bytes": 4700372992},
        },
        "devices": [
            {
                "name": "pub-1",
                "drives": 2,
                "media": {
                    "CD-R": {"write_Bps": 7800000, "overhead_s": 60, "loaded": 100},
                    "DVD-R": {"write_Bps": 21600000, "overhead_s": 90, "loaded": 50},
                },
                "cache_bytes": 20000000000,
                "link_Bps": 50000000,
                "cached": ["c1"],
            }
        ],
        "contents": [{"id": "c1", "size_bytes": 650000000}],
        "requests": [{"id": "r1", "content": "c1", "media": "CD-R", "copies": 3, "arrival_s": 0.0}],
        "operator": {"reload_delay_s": 900, "reload_count": 100},
    }
    doc.update(overrides)
    return doc


def run_to_end(snap: Snapshot) -> list[Plan]:
    """Every round of a standing planner from ``snap`` until it has nothing to wake for."""
    planner = DiscflowPlanner(snap)
    plans = [planner.step(snap.now, sorted(snap.requests, key=lambda q: q.seq))]
    while (wake := plans[-1].wake_s) is not None:
        assert len(plans) < 1000, "the planner keeps asking to be woken"
        plans.append(planner.step(wake))
    return plans


def assignments(plans: list[Plan]) -> list[Assignment]:
    return [a for p in plans for a in p.assignments]


def downloads(plans: list[Plan]) -> list[Download]:
    return [d for p in plans for d in p.downloads]


def end_and_fetches(snap: Snapshot, device_name: str, *, copies: int) -> tuple[float, int]:
    """Run ``snap`` to its end: when its last copy ends, and how many downloads
    ``device_name`` made (after checking every one of ``copies`` was planned)."""
    plans = run_to_end(snap)
    assert sum(a.copies for a in assignments(plans)) == copies
    end = max(a.end_s for a in assignments(plans))
    return end, sum(1 for d in downloads(plans) if d.device == device_name)
