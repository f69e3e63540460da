# Workloads unlike the project's own generator, for the benchmark (issue 15).
#
# Invariants: the result depends only on the Recipe and the seed (a private
# random.Random); every device can cache the largest content of each media it
# writes (twice over), so nothing is unplaceable by construction; speeds are
# the nominal ones of the media (CD 52x, DVD 16x, DVD DL 8x, BD 6-8x) plus
# the publisher's per-disc overhead; "enough media" loads each device with
# 2.5x its drive share of all copies, otherwise ``loaded`` is drawn per
# device and media from the Recipe's range (scarce blanks, reloads needed).
"""Fleet recipes: mixed media (CD/DVD/DL/BD), slow links, scarce blanks."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from itertools import accumulate

from discflow.domain import MEDIA_TYPES, Priority
from discflow.scheduler._generate import Arrival
from discflow.scheduler._workload import DeviceSpec, MediaSpec, RequestSpec, Workload

_MB = 1_000_000
_GB = 1_000_000_000
# media -> (write B/s, overhead s, content size range in bytes)
_MEDIA: dict[str, tuple[float, float, tuple[int, int]]] = {
    "CD-R": (7.8 * _MB, 60, (100 * _MB, 700 * _MB)),
    "DVD-R": (21.6 * _MB, 90, (1 * _GB, 4_400 * _MB)),
    "DVD+R-DL": (10.8 * _MB, 120, (4_800 * _MB, 8_400 * _MB)),
    "BD-R": (27 * _MB, 120, (9 * _GB, 24 * _GB)),
}
# Publisher models: media written, and a speed factor against nominal.
MODELS: dict[str, tuple[tuple[str, ...], float]] = {
    "cd-dvd": (("CD-R", "DVD-R"), 1.0),
    "cd-only": (("CD-R",), 1.0),
    "slow-cd-dvd": (("CD-R", "DVD-R"), 0.75),
    "dvd-only": (("DVD-R",), 1.0),
    "dvd-dl-bd": (("CD-R", "DVD-R", "DVD+R-DL", "BD-R"), 1.0),
    "bd-only": (("BD-R",), 1.33),
}


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to draw one workload; see the module comment for the invariants."""

    requests: int
    titles: int
    models: tuple[str, ...]  # one per device, cycled
    arrival: Arrival = "batch"
    media_mix: tuple[tuple[str, float], ...] = (("CD-R", 0.6), ("DVD-R", 0.4))
    link_Bps: tuple[float, float] = (12.5 * _MB, 125 * _MB)  # noqa: N815 - log-uniform range
    cache_bytes: tuple[float, float] = (2 * _GB, 100 * _GB)  # log-uniform, raised to fit
    loaded: tuple[int, int] | None = None  # None: enough media
    load: float = 0.85  # Poisson: offered share of the fleet's burn capacity
    rush_share: float = 0.0
    reload_delay_s: float = 900.0
    reload_count: int = 100


def _log_uniform(rnd: random.Random, low: float, high: float) -> float:
    return math.exp(rnd.uniform(math.log(low), math.log(high)))


def generate_fleet(recipe: Recipe, *, seed: int) -> Workload:
    """A reproducible workload drawn from ``recipe``."""
    # bandit B311 is a false alarm here: a reproducible benchmark workload
    rnd = random.Random(seed)  # nosec B311
    names = [m for m, _ in recipe.media_mix]
    weights = list(accumulate(share for _, share in recipe.media_mix))
    contents: dict[str, int] = {}
    native: dict[str, str] = {}
    for t in range(recipe.titles):
        media = names[bisect.bisect_left(weights, rnd.random() * weights[-1])]
        low, high = _MEDIA[media][2]
        contents[f"t{t}"] = rnd.randint(low, high)
        native[f"t{t}"] = media
    ids = list(contents)
    rnd.shuffle(ids)
    popularity = list(accumulate(1.0 / (k + 1) for k in range(len(ids))))
    drawn: list[tuple[str, str, int, Priority]] = []
    for _ in range(recipe.requests):
        k = bisect.bisect_left(popularity, rnd.random() * popularity[-1])
        cid = ids[min(k, len(ids) - 1)]
        media = native[cid]
        if media == "CD-R" and "DVD-R" in names and rnd.random() < 0.2:
            media = "DVD-R"  # a CD image ordered on DVD
        u = rnd.random()
        copies = 1 if u < 0.5 else rnd.randint(2, 5) if u < 0.9 else rnd.randint(10, 50)
        rush = rnd.random() < recipe.rush_share
        drawn.append((cid, media, copies, Priority.RUSH if rush else Priority.NORMAL))
    devices = _devices(recipe, rnd, ids, contents, drawn)
    times = _arrivals(recipe, rnd, devices, contents, drawn)
    return Workload(
        media={m: MEDIA_TYPES[m].capacity_bytes for m in _MEDIA},
        devices=tuple(devices),
        contents=contents,
        requests=tuple(
            RequestSpec(f"r{i}", cid, m, c, times[i], prio)
            for i, (cid, m, c, prio) in enumerate(drawn)
        ),
        reload_delay_s=recipe.reload_delay_s,
        reload_count=recipe.reload_count,
    )


def _devices(
    recipe: Recipe,
    rnd: random.Random,
    ids: list[str],
    contents: dict[str, int],
    drawn: list[tuple[str, str, int, Priority]],
) -> list[DeviceSpec]:
    total = sum(c for _, _, c, _ in drawn)
    plan = [
        (recipe.models[i % len(recipe.models)], rnd.randint(1, 4))
        for i in range(len(recipe.models))
    ]
    all_drives = sum(n for _, n in plan)
    out: list[DeviceSpec] = []
    for i, (model, drives) in enumerate(plan):
        media, factor = MODELS[model]
        largest = max(_MEDIA[m][2][1] for m in media)
        cache = max(int(_log_uniform(rnd, *recipe.cache_bytes)), 2 * largest)
        specs: dict[str, MediaSpec] = {}
        for m in media:
            write, overhead, _ = _MEDIA[m]
            if recipe.loaded is None:
                loaded = max(100, math.ceil(2.5 * total * drives / all_drives))
            else:
                loaded = rnd.randint(*recipe.loaded)
            specs[m] = MediaSpec(write * factor, overhead, loaded)
        held: list[str] = []
        room = cache // 2
        for cid in rnd.sample(ids, min(len(ids), 8)):
            if contents[cid] <= room:
                held.append(cid)
                room -= contents[cid]
        link = _log_uniform(rnd, *recipe.link_Bps)
        out.append(DeviceSpec(f"pub-{i + 1}", drives, specs, cache, round(link), tuple(held)))
    return out


def _arrivals(
    recipe: Recipe,
    rnd: random.Random,
    devices: list[DeviceSpec],
    contents: dict[str, int],
    drawn: list[tuple[str, str, int, Priority]],
) -> list[float]:
    if recipe.arrival == "batch":
        return [0.0] * len(drawn)
    # Mean drive seconds per request on the average capable writer.
    work = 0.0
    for cid, media, copies, _ in drawn:
        burns = [
            d.media[media].overhead_s + contents[cid] / d.media[media].write_Bps
            for d in devices
            if media in d.media
        ]
        work += copies * sum(burns) / max(1, len(burns))
    drives = sum(d.drives for d in devices)
    rate = recipe.load * drives / (work / max(1, len(drawn)))
    clock = 0.0
    times: list[float] = []
    for _ in drawn:
        clock += rnd.expovariate(rate)
        times.append(round(clock, 3))
    return times
