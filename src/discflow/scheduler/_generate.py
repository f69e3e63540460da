# Realistic generated workloads for `discflow bench workload` and the benchmark.
#
# Invariants: the result depends only on the arguments (a private
# random.Random(seed)); titles follow a Zipf(1) popularity; about 60% of
# titles are CD-sized (100-700 MB) and 40% DVD-sized (1-4.4 GB); devices
# come from a few publisher models (so the LP bound's device classes stay
# few), have 1-4 drives, 2-100 GB caches (log-uniform) and 100 Mbit/s to
# 1 Gbit/s links; the catalog is bigger than any cache. "Enough media": each
# device is loaded with 2.5x its drive share of all copies (at least 100),
# so blanks never bind the batch benchmarks; reloads still occur in small runs.
"""Workload generator: Zipf titles, mixed media, heterogeneous devices."""

from __future__ import annotations

import bisect
import math
import random
from itertools import accumulate
from typing import Literal

from discflow.domain import MEDIA_TYPES
from discflow.scheduler._workload import DeviceSpec, MediaSpec, RequestSpec, Workload

Arrival = Literal["batch", "poisson"]

# (model, {media: (write_Bps, overhead_s)}): CD 52x ~ 7.8 MB/s, DVD 16x ~ 21.6 MB/s.
_MODELS: tuple[tuple[str, dict[str, tuple[float, float]]], ...] = (
    ("dvd-publisher", {"CD-R": (7_800_000, 60), "DVD-R": (21_600_000, 90)}),
    ("cd-tower", {"CD-R": (7_800_000, 45)}),
    ("slow-dvd", {"CD-R": (6_000_000, 70), "DVD-R": (16_200_000, 100)}),
    ("dvd-only", {"DVD-R": (21_600_000, 80)}),
)
_LINKS = (12_500_000, 12_500_000, 50_000_000, 125_000_000)
_GB = 1_000_000_000


def generate_workload(
    *, requests: int, titles: int, devices: int, seed: int, arrival: Arrival = "batch"
) -> Workload:
    """A reproducible workload of ``requests`` over ``titles`` and ``devices``."""
    # bandit B311 is a false alarm here: a reproducible benchmark workload
    rnd = random.Random(seed)  # nosec B311
    media = {m: MEDIA_TYPES[m].capacity_bytes for m in ("CD-R", "DVD-R")}
    contents: dict[str, int] = {}
    for t in range(titles):
        if rnd.random() < 0.6:
            contents[f"t{t}"] = rnd.randint(100_000_000, 700_000_000)
        else:
            contents[f"t{t}"] = rnd.randint(1_000_000_000, 4_400_000_000)
    ids = list(contents)
    rnd.shuffle(ids)
    cum = list(accumulate(1.0 / (k + 1) for k in range(titles)))

    reqs: list[tuple[str, str, int]] = []
    for _ in range(requests):
        cid = ids[min(bisect.bisect_left(cum, rnd.random() * cum[-1]), titles - 1)]
        big = contents[cid] > media["CD-R"]
        m = "DVD-R" if big or rnd.random() < 0.2 else "CD-R"
        u = rnd.random()
        copies = 1 if u < 0.5 else rnd.randint(2, 5) if u < 0.9 else rnd.randint(10, 50)
        reqs.append((cid, m, copies))

    specs: list[tuple[str, dict[str, tuple[float, float]], int, int, float]] = []
    for i in range(devices):
        model, speeds = _MODELS[i % len(_MODELS)] if i < len(_MODELS) else rnd.choice(_MODELS)
        cache = int(math.exp(rnd.uniform(math.log(2 * _GB), math.log(100 * _GB))))
        specs.append((f"pub-{i + 1}", speeds, rnd.randint(1, 4), cache, rnd.choice(_LINKS)))
    total_copies = sum(c for _, _, c in reqs)
    all_drives = sum(s[2] for s in specs)
    devs: list[DeviceSpec] = []
    for name, speeds, ndrives, cache, link in specs:
        loaded = max(100, math.ceil(2.5 * total_copies * ndrives / all_drives))
        held: list[str] = []
        room = cache // 2  # half full of random titles at time 0
        for cid in rnd.sample(ids, min(len(ids), 8)):
            if contents[cid] <= room:
                held.append(cid)
                room -= contents[cid]
        devs.append(
            DeviceSpec(
                name,
                ndrives,
                {m: MediaSpec(w, o, loaded) for m, (w, o) in speeds.items()},
                cache,
                link,
                tuple(held),
            )
        )

    if arrival == "batch":
        times = [0.0] * requests
    else:
        # Offered load ~85% of the fleet's burn capacity.
        mean_burn = sum(
            c * (75 + contents[cid] / (18_000_000 if m == "DVD-R" else 7_000_000))
            for cid, m, c in reqs
        ) / max(1, requests)
        rate = 0.85 * sum(s[2] for s in specs) / mean_burn
        clock = 0.0
        times = []
        for _ in range(requests):
            clock += rnd.expovariate(rate)
            times.append(round(clock, 3))
    return Workload(
        media=media,
        devices=tuple(devs),
        contents=contents,
        requests=tuple(
            RequestSpec(f"r{i}", cid, m, c, times[i]) for i, (cid, m, c) in enumerate(reqs)
        ),
    )
