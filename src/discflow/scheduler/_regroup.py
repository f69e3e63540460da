# Local search after the LP spread (``_allocate``), for fewer downloads.
#
# Invariants: a move takes all of a group's copies from the devices that hold
# part of it to one device (a holder of its content, one given part of it, or
# one given its content for another media); it is made only when it saves a
# fetch and leaves that device's predicted load (backlog + burns + the title
# costs of the contents it must fetch, ``_allocate._title_cost``) within the
# LP's end, or no later than after the spread. When no device has room, the
# move may come with a hand-over: the target passes one group whose content it
# fetches for nothing else to another device within that one's limit (no bytes
# more: that fetch only changes device). Loads are kept per device in
# ``_Layout`` as moves are made, so every pass sees the moves before it.
"""Regrouping of a batch allocation: each group gathered on one device when that saves a fetch."""

from __future__ import annotations

from dataclasses import dataclass, field

from discflow.scheduler._allocate import Group, _backlog, _title_cost
from discflow.scheduler._state import DeviceState

# Passes of the local search after the spread (each gathers what it can).
REGROUP_PASSES = 3


@dataclass(slots=True)
class _Layout:
    """Copies of each group per device, and each device's predicted drive load."""

    devices: dict[str, DeviceState]
    copies: dict[str, dict[int, int]] = field(default_factory=dict)  # device -> id(group) -> n
    groups: dict[int, Group] = field(default_factory=dict)
    on: dict[int, dict[str, None]] = field(default_factory=dict)  # id(group) -> devices
    fetching: dict[str, dict[str, int]] = field(default_factory=dict)  # device -> content -> groups
    load: dict[str, float] = field(default_factory=dict)  # backlog + burns + title costs
    fastest: dict[str, tuple[float, float]] = field(
        default_factory=dict
    )  # least overhead, most B/s

    def __post_init__(self) -> None:
        for d in self.devices.values():
            for media, stock in d.stock.items():
                overhead, write = self.fastest.get(media, (stock.overhead_s, stock.write_Bps))
                self.fastest[media] = (min(overhead, stock.overhead_s), max(write, stock.write_Bps))

    def least_burn(self, media: str, size: int) -> float:
        """No device burns a disc of ``media`` and ``size`` faster than this."""
        overhead, write = self.fastest[media]
        return overhead + size / write

    def add(self, name: str, g: Group, n: int) -> None:
        d = self.devices[name]
        mine = self.copies.setdefault(name, {})
        if id(g) not in mine:
            mine[id(g)] = 0
            self.groups[id(g)] = g
            self.on.setdefault(id(g), {})[name] = None
            if g.content not in d.cache:
                fetching = self.fetching.setdefault(name, {})
                if not fetching.get(g.content):
                    self.load[name] += _title_cost(d, g.size)
                fetching[g.content] = fetching.get(g.content, 0) + 1
        mine[id(g)] += n
        self.load[name] += n * d.burn_s(g.media, g.size)

    def remove(self, name: str, g: Group) -> int:
        """Take all of ``name``'s copies of ``g`` off it; how many there were."""
        d = self.devices[name]
        n = self.copies[name].pop(id(g))
        del self.on[id(g)][name]
        self.load[name] -= n * d.burn_s(g.media, g.size)
        if g.content not in d.cache:
            fetching = self.fetching[name]
            fetching[g.content] -= 1
            if not fetching[g.content]:
                del fetching[g.content]
                self.load[name] -= _title_cost(d, g.size)
        return n

    def fetches(self, name: str, content: str) -> int:
        """Groups of ``content`` on ``name`` that make it fetch the content."""
        return self.fetching.get(name, {}).get(content, 0)


def regroup(
    share: dict[str, list[tuple[Group, int]]],
    by_name: dict[str, DeviceState],
    now: float,
    holders: dict[str, dict[str, None]],
    lp_end: float,
) -> dict[str, list[tuple[Group, int]]]:
    """Local search after the spread, for fewer downloads: gather each group's
    copies on one device (one given part of it, one given its content for
    another media, or a holder of its content) when that saves a fetch and that
    device still ends within the LP's end, or no later than after the spread."""
    lay = _Layout(by_name)
    for name, d in by_name.items():
        lay.load[name] = _backlog(d, now)
    for name, items in share.items():
        for g, n in items:
            lay.add(name, g, n)
    limit = {name: max(lp_end * d.drive_count, lay.load[name]) for name, d in by_name.items()}
    with_content: dict[str, dict[str, None]] = {}
    for gid, names in lay.on.items():
        with_content.setdefault(lay.groups[gid].content, {}).update(names)
    order = sorted(
        lay.groups.values(), key=lambda g: (-g.size * len(lay.on[id(g)]), g.content, g.media)
    )
    for _ in range(REGROUP_PASSES):
        moved = False
        for g in order:
            placed = lay.on[id(g)]
            # Bytes saved by the devices whose only reason to fetch the content is g.
            saved = sum(g.size for name in placed if lay.fetches(name, g.content) == 1)
            if not saved:
                continue
            targets = dict(placed)
            targets.update(with_content.get(g.content, {}))
            targets.update(
                (name, None)
                for name in holders.get(g.content, {})
                if name in by_name and g.content in by_name[name].cache
            )
            best = _best_target(lay, g, placed, targets, saved, limit)
            if best is None:
                chain = _best_chain(lay, g, placed, targets, saved, limit)
                if chain is not None:
                    target, pushed, to = chain
                    lay.add(to, pushed, lay.remove(target, pushed))
                    _note_moved(lay, with_content, pushed, target, to)
                    best = target
            if best is None:
                continue
            for name in list(placed):
                if name != best:
                    lay.add(best, g, lay.remove(name, g))
                    _note_moved(lay, with_content, g, name, best)
            moved = True
        if not moved:
            break
    return {
        name: [(lay.groups[gid], n) for gid, n in mine.items()]
        for name, mine in lay.copies.items()
        if mine
    }


def _note_moved(
    lay: _Layout, with_content: dict[str, dict[str, None]], g: Group, source: str, target: str
) -> None:
    """Keep ``with_content`` (content -> devices given a group of it) after a move."""
    if not any(lay.groups[gid].content == g.content for gid in lay.copies[source]):
        with_content.get(g.content, {}).pop(source, None)
    with_content.setdefault(g.content, {})[target] = None


def _gathered_load(lay: _Layout, g: Group, placed: dict[str, None], name: str) -> float:
    """``name``'s predicted load once every copy of ``g`` is on it."""
    d = lay.devices[name]
    coming = sum(lay.copies[o][id(g)] for o in placed if o != name)
    load = lay.load[name] + coming * d.burn_s(g.media, g.size)
    if g.content not in d.cache and not lay.fetches(name, g.content):
        load += _title_cost(d, g.size)
    return load


def _gain(lay: _Layout, g: Group, placed: dict[str, None], name: str, saved: int) -> int:
    """Bytes saved by gathering ``g`` on ``name``: the others' fetches, less its own."""
    d = lay.devices[name]
    fetched = g.content not in d.cache and not lay.fetches(name, g.content)
    stays = name in placed and lay.fetches(name, g.content) == 1
    return saved - (g.size if stays or fetched else 0)


def _best_target(
    lay: _Layout,
    g: Group,
    placed: dict[str, None],
    targets: dict[str, None],
    saved: int,
    limit: dict[str, float],
) -> str | None:
    """The device that gathers ``g`` saving the most bytes within its limit (least loaded)."""
    best: tuple[tuple[float, float, str], str] | None = None
    for name in targets:
        d = lay.devices[name]
        if not d.can_write(g.media, g.size):
            continue
        load = _gathered_load(lay, g, placed, name)
        if load > limit[name] + 1e-6:
            continue
        gain = _gain(lay, g, placed, name, saved)
        rank = (-float(gain), load / d.drive_count, name)
        if gain > 0 and (best is None or rank < best[0]):
            best = (rank, name)
    return None if best is None else best[1]


def _best_chain(
    lay: _Layout,
    g: Group,
    placed: dict[str, None],
    targets: dict[str, None],
    saved: int,
    limit: dict[str, float],
) -> tuple[str, Group, str] | None:
    """A target over its limit with ``g`` makes room by handing one group it fetches
    for nothing else to another device within that one's limit: (target, group, to).

    The hand-over costs no bytes (the target's fetch becomes the other's, or
    none if that one holds or fetches the content), so the chain saves what
    gathering ``g`` does; the smallest hand-over that makes room is taken."""
    best: tuple[tuple[float, float, str, str], tuple[str, Group, str]] | None = None
    roomy: list[tuple[float, str]] | None = None  # (room left, device), most room first
    for name in targets:
        d = lay.devices[name]
        if not d.can_write(g.media, g.size):
            continue
        gain = _gain(lay, g, placed, name, saved)
        if gain <= 0:
            continue
        need = _gathered_load(lay, g, placed, name) - limit[name]
        handovers: list[tuple[float, Group, int]] = []
        for gid, n in lay.copies.get(name, {}).items():
            other = lay.groups[gid]
            if other.content == g.content or lay.fetches(name, other.content) != 1:
                continue
            work = n * d.burn_s(other.media, other.size)
            if work + _title_cost(d, other.size) >= need - 1e-6:
                handovers.append((work, other, n))
        handovers.sort(key=lambda h: h[0])  # smallest first: the first taker is the best
        for work, other, n in handovers:
            if best is not None and (-float(gain), work, name) > best[0][:3]:
                break
            if roomy is None:
                roomy = sorted(
                    ((limit[o] - lay.load[o], o) for o in lay.devices if lay.load[o] < limit[o]),
                    reverse=True,
                )
            to = _receiver(lay, other, name, n, limit, roomy)
            rank = (-float(gain), work, name, to or "")
            if to is not None and (best is None or rank < best[0]):
                best = (rank, (name, other, to))
    return None if best is None else best[1]


def _receiver(
    lay: _Layout,
    other: Group,
    source: str,
    n: int,
    limit: dict[str, float],
    roomy: list[tuple[float, str]],
) -> str | None:
    """The device of ``roomy`` to take ``source``'s ``n`` copies of ``other`` within its
    limit: one that holds or fetches its content first, then the one with most room."""
    best: tuple[bool, float, str] | None = None
    least = n * lay.least_burn(other.media, other.size)
    for room, name in roomy:
        if room + 1e-6 < least:
            break  # nor has any device after it
        d = lay.devices[name]
        if name == source or not d.can_write(other.media, other.size):
            continue
        load = lay.load[name] + n * d.burn_s(other.media, other.size)
        if load > limit[name] + 1e-6:
            continue  # no room even without the title's cost
        held = other.content in d.cache or bool(lay.fetches(name, other.content))
        if not held:
            load += _title_cost(d, other.size)
        rank = (not held, load - limit[name], name)
        if load <= limit[name] + 1e-6 and (best is None or rank < best):
            best = rank
    return None if best is None else best[2]
