# The plan validator: every rule of workload-schema.md, checked independently.
#
# Invariants: it reads only the workload and the plan document (never the
# simulator's state), so a bug in the simulator cannot hide itself; it returns
# every violation found, each naming the rule, the objects and the times, so a
# failing test says what went wrong. Times compare with a tolerance of 1e-6 s
# relative, because plans carry floats through JSON.
"""``validate_plan(workload, plan) -> list of violations`` (empty means valid)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from discflow.scheduler._workload import DeviceSpec, Workload

_EPS = 1e-6


def _tol(t: float) -> float:
    return _EPS * max(1.0, abs(t))


def _servable(w: Workload, content: str, media: str) -> bool:
    size = w.contents[content]
    if media not in w.media or size > w.media[media]:
        return False
    return any(media in d.media and size <= d.cache_bytes for d in w.devices)


def validate_plan(w: Workload, plan: dict[str, Any]) -> list[str]:
    """All rule violations of ``plan`` against ``w``; an empty list means valid."""
    out: list[str] = []
    devices = {d.name: d for d in w.devices}
    _completeness(w, plan, out)
    resident = _residency(w, plan, devices, out)
    blank_events = _burns(w, plan, devices, resident, out)
    _blanks(w, plan, blank_events, out)
    return out


Spans = dict[tuple[str, str], list[tuple[float, float]]]
BlankEvents = dict[tuple[str, str], list[tuple[float, int, int]]]


def _completeness(w: Workload, plan: dict[str, Any], out: list[str]) -> None:
    """Rules 7 and 1: each request is burned fully (copies 0..n-1) or refused."""
    requests = {r.id: r for r in w.requests}
    unplaceable = {u["request"] for u in plan.get("unplaceable", [])}

    # Rule 7 and rule 1 (completeness): each request is burned fully or refused.
    for rid in unplaceable:
        # bandit B113 is a false alarm here: a dict named 'requests', not the HTTP library
        r = requests.get(rid)  # nosec B113
        if r is None:
            out.append(f"rule 7: unplaceable names unknown request {rid!r}")
        elif _servable(w, r.content, r.media):
            out.append(f"rule 7: {rid!r} is reported unplaceable but a device can serve it")
    copies: dict[str, list[int]] = defaultdict(list)
    for b in plan["burns"]:
        copies[b["request"]].append(b["copy"])
    for r in w.requests:
        got = sorted(copies.get(r.id, []))
        if r.id in unplaceable:
            if got:
                out.append(f"rule 7: {r.id!r} is unplaceable yet has burns")
        elif got != list(range(r.copies)):
            out.append(f"rule 1: {r.id!r} wants copies 0..{r.copies - 1}, plan burns {got[:10]}")


def _residency(
    w: Workload, plan: dict[str, Any], devices: dict[str, DeviceSpec], out: list[str]
) -> Spans:
    """Rules 3-5 for downloads and evictions; when each content is resident where."""
    # Residency of contents per device (rule 4) and cache bytes (rule 5).
    resident: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    cache_events: dict[str, list[tuple[float, int, int, str]]] = defaultdict(list)
    opened: dict[tuple[str, str], float] = {}
    for d in w.devices:
        for c in d.cached:
            opened[(d.name, c)] = -math.inf
            cache_events[d.name].append((-math.inf, 1, w.contents[c], c))
    first_arrival: dict[str, float] = {}
    for r in w.requests:
        first_arrival[r.content] = min(first_arrival.get(r.content, math.inf), r.arrival_s)
    timeline: list[tuple[float, int, dict[str, Any]]] = [
        (e["at_s"], 0, e) for e in plan["evictions"]
    ] + [(d["start_s"], 1, d) for d in plan["downloads"]]
    timeline.sort(key=lambda x: (x[0], x[1]))
    dl_by_dev: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _, kind, e in timeline:
        name, c = e["device"], e["content"]
        dev = devices.get(name)
        if dev is None or c not in w.contents:
            out.append(f"rule 4: unknown device or content in {e}")
            continue
        size = w.contents[c]
        if kind == 0:
            since = opened.pop((name, c), None)
            if since is None:
                out.append(f"rule 5: {name} evicts {c!r} at {e['at_s']} but does not hold it")
                continue
            resident[(name, c)].append((since, e["at_s"]))
            cache_events[name].append((e["at_s"], 0, -size, c))
        else:
            start, end = e["start_s"], e["end_s"]
            if (name, c) in opened:
                out.append(f"rule 4: {name} downloads {c!r} at {start} while holding it")
            if start + _tol(start) < first_arrival.get(c, math.inf):
                out.append(f"rule 3: {name} downloads {c!r} at {start}, before any request")
            if abs(end - start - size / dev.link_Bps) > _tol(end):
                out.append(f"rule 4: download of {c!r} to {name} lasts {end - start}")
            opened[(name, c)] = end
            dl_by_dev[name].append((start, end))
            cache_events[name].append((start, 1, size, c))
    for key, since in opened.items():
        resident[key].append((since, math.inf))
    for name, spans in dl_by_dev.items():
        spans.sort()
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            if s2 + _tol(s2) < e1:
                out.append(f"rule 4: {name} runs two downloads at once around {s2}")
    for name, events in cache_events.items():
        used = 0
        for at, _, delta, c in sorted(events, key=lambda x: (x[0], x[1])):
            used += delta
            if used > devices[name].cache_bytes:
                out.append(f"rule 5: {name} holds {used} bytes > cache_bytes at {at} ({c!r})")
                break
    return resident


def _burns(
    w: Workload,
    plan: dict[str, Any],
    devices: dict[str, DeviceSpec],
    resident: Spans,
    out: list[str],
) -> BlankEvents:
    """Rules 1-5 for burns; the blank each one uses, for rule 6."""
    requests = {r.id: r for r in w.requests}
    # Burns: capability, duration, arrival, drives, residency, blanks.
    per_drive: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    blank_events: dict[tuple[str, str], list[tuple[float, int, int]]] = defaultdict(list)
    burns_of: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for b in plan["burns"]:
        # bandit B113 is a false alarm here: a dict, not the HTTP library
        r = requests.get(b["request"])  # nosec B113
        dev = devices.get(b["device"])
        if r is None or dev is None:
            out.append(f"rule 1: burn names unknown request or device: {b}")
            continue
        media, s, e = b["media"], b["start_s"], b["end_s"]
        if media != r.media or media not in dev.media:
            out.append(f"rule 1: {r.id!r} copy {b['copy']} on {dev.name} in {media}")
            continue
        size = w.contents[r.content]
        if size > w.media.get(media, -1):
            out.append(f"rule 1: {r.content!r} does not fit {media}")
        spec = dev.media[media]
        if abs(e - s - (spec.overhead_s + size / spec.write_Bps)) > _tol(e):
            out.append(f"rule 1: burn of {r.id!r} on {dev.name} lasts {e - s}")
        if s + _tol(s) < r.arrival_s:
            out.append(f"rule 3: {r.id!r} burns at {s} before it arrives at {r.arrival_s}")
        if not 0 <= b["drive"] < dev.drives:
            out.append(f"rule 2: {dev.name} has no drive {b['drive']}")
        per_drive[(dev.name, b["drive"])].append((s, e))
        spans = resident.get((dev.name, r.content), [])
        if not any(a - _tol(a) <= s and e <= z + _tol(z) for a, z in spans):
            out.append(f"rule 4: {r.id!r} burns {r.content!r} on {dev.name} at {s} uncached")
        blank_events[(dev.name, media)].append((s, 1, -1))
        burns_of[(dev.name, r.content)].append((s, e))
    for (name, drive), spans in per_drive.items():
        spans.sort()
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            if s2 + _tol(s2) < e1:
                out.append(f"rule 2: drive {drive} of {name} burns two discs at {s2}")
    for e in plan["evictions"]:
        for s, z in burns_of.get((e["device"], e["content"]), []):
            if s + _tol(s) < e["at_s"] < z - _tol(z):
                out.append(f"rule 5: {e['device']} evicts {e['content']!r} mid-burn")
    return blank_events


def _blanks(w: Workload, plan: dict[str, Any], blank_events: BlankEvents, out: list[str]) -> None:
    # Rule 6: blanks never below zero; reloads as the operator settings say.
    for d in w.devices:
        for m, spec in d.media.items():
            blank_events[(d.name, m)].append((-math.inf, 0, spec.loaded))
    for rl in plan["reloads"]:
        if abs(rl["loaded_s"] - rl["notice_s"] - w.reload_delay_s) > _tol(rl["loaded_s"]):
            out.append(f"rule 6: reload {rl} does not land reload_delay_s after its notice")
        if rl["count"] != w.reload_count:
            out.append(f"rule 6: reload {rl} adds {rl['count']}, not reload_count")
        blank_events[(rl["device"], rl["media"])].append((rl["loaded_s"], 0, rl["count"]))
    for (name, m), stock in blank_events.items():
        count = 0
        for at, _, delta in sorted(stock):
            count += delta
            if count < 0:
                out.append(f"rule 6: {name} has {count} blank {m} at {at}")
                break
