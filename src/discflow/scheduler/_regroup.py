# Local search after the LP spread (``_allocate``), for fewer downloads.
#
# Invariants: a move takes all of a group's copies from the devices that hold
# part of it to one device (a holder of its content, one given part of it, or
# one given its content for another media); it is made only when it saves a
# fetch and leaves that device's predicted load (backlog + burns + the title
# costs of the contents it must fetch, ``_allocate._title_cost``) within the
# LP's end, or no later than after the spread. Loads are kept per device in
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
            best: tuple[tuple[float, float, str], str] | None = None
            for name in targets:
                d = by_name[name]
                if not d.can_write(g.media, g.size):
                    continue
                coming = sum(lay.copies[o][id(g)] for o in placed if o != name)
                load = lay.load[name] + coming * d.burn_s(g.media, g.size)
                fetched = g.content not in d.cache and not lay.fetches(name, g.content)
                if fetched:
                    load += _title_cost(d, g.size)
                if load > limit[name] + 1e-6:
                    continue
                stays = name in placed and lay.fetches(name, g.content) == 1
                gain = saved - (g.size if stays or fetched else 0)
                rank = (-float(gain), load / d.drive_count, name)
                if gain > 0 and (best is None or rank < best[0]):
                    best = (rank, name)
            if best is None:
                continue
            target = best[1]
            for name in list(placed):
                if name != target:
                    lay.add(target, g, lay.remove(name, g))
                    if not any(lay.groups[gid].content == g.content for gid in lay.copies[name]):
                        with_content[g.content].pop(name, None)
            with_content.setdefault(g.content, {})[target] = None
            moved = True
        if not moved:
            break
    return {
        name: [(lay.groups[gid], n) for gid, n in mine.items()]
        for name, mine in lay.copies.items()
        if mine
    }
