# Fetching contents in demand to idle devices before they are asked for.
#
# Why: under a steady trickle of orders most of a request's time is its
# setup: it waits for a busy holder of its content or for a fetch to an idle
# device (gen-poisson seed 5, session 14: 1-copy DVD requests waited 85 s
# before their burn, 26 s of it for a fetch, while their burn took 200 s). A
# content many recent orders asked for, held by an idle device with a free
# link, turns the next order's fetch or wait into an immediate burn. A cache
# of a CDN does the same with its popular objects.
#
# Invariants:
# - Demand counts arrivals of the online trickle only: a batch (which the LP
#   allocates as a whole) is already in the queue, not a sign of orders to
#   come, so ``note`` is not called for it.
# - A content's demand is a count of its arrivals decayed with DEMAND_TIME_S,
#   kept as a log score (log of the sum of exp(arrival / DEMAND_TIME_S)), so
#   scores compare the same at any time and never overflow; only the HOT_ENTRIES
#   highest (content, media) pairs are kept (the lowest one is replaced).
# - Only an idle device prefetches (it is parking: nothing in the pool to take),
#   only while its link is idle, only into free cache room (no eviction: a
#   prefetch never takes a content another order needs), only a content whose
#   fetch takes at most PREFETCH_MAX_S on its link (a long one would hold the
#   link from the next real fetch), only for a media it writes with blanks,
#   and only while the content is still in demand (at least MIN_DEMAND arrivals
#   in the last DEMAND_TIME_S, decayed). Of those, the one with the most
#   demand per device already holding it.
# - It goes through ``DeviceState.ensure_cached``: the same download rules and
#   holder index as any fetch, so the next arrival finds the device a holder.
#
# Where it acts: in the simulator (every plan's downloads are carried out). The
# live dispatcher carries out assignments and evictions; an agent fetches a
# job's content itself, so a Download with no burn behind it is not acted on
# there yet (a cache-fill job for agents is what it would take).
"""Prefetch of contents in demand into idle devices' free cache room."""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from discflow.scheduler._model import QueuedRequest
from discflow.scheduler._state import Decisions, DeviceState

if TYPE_CHECKING:
    from discflow.scheduler._discflow import DiscflowPlanner

# A content's demand decays with this time constant (an hour of orders).
DEMAND_TIME_S: Final = 3600.0
# Pairs (content, media) whose demand is tracked.
HOT_ENTRIES: Final = 128
# Prefetch only contents whose fetch takes at most this long on the device's link
# (20 s: gen-poisson mean +2 % against 200 s; 60 s: +0.4 %; 600 and 1,800 s:
# slow-online better, but mixed-online-rush's p99 worse: BENCHMARKS.md, session 14).
PREFETCH_MAX_S: Final = 200.0
# A content is in demand while its decayed arrivals in DEMAND_TIME_S are at least this.
MIN_DEMAND: Final = 1.0
# ... and a prefetch needs at least this many per device already holding it
# (each prefetch adds a holder: 1.0 kept a tenth of the prefetches and lost
# most of the gain; without a bound three times as many, and the planner's
# CPU at 100k +70 %, holders being scanned per arrival).
DEMAND_PER_HOLDER: Final = 0.5
# A device looks at this many of each media's most asked-for contents (24 gave
# the same means as 8 on gen-poisson seeds 1-8, within +-0.01, at more CPU).
SCAN_ENTRIES: Final = 8


@dataclass(slots=True)
class Demand:
    """Decayed arrival counts of the most asked-for (content, media) pairs.

    ``ranked`` holds, per media, (-score, content) in ascending order (the most
    in demand first), kept sorted as scores change: one removal and one
    insertion (bisect) per arrival, not a sort per look."""

    scores: dict[tuple[str, str], float] = field(default_factory=dict)
    ranked: dict[str, list[tuple[float, str]]] = field(default_factory=dict)

    def note(self, request: QueuedRequest) -> None:
        """Count one arrival of ``request``'s content and media (at its arrival
        time: the standing planner notes it as it arrives; ``plan_discflow``,
        which has only the queue, notes the requests still queued)."""
        content, media = request.content, request.media
        key = (content, media)
        score = request.arrival_s / DEMAND_TIME_S
        scores = self.scores
        old = scores.get(key)
        if old is not None:
            # log(exp(old) + exp(score)), without overflow
            high, low = (old, score) if old > score else (score, old)
            score = high + math.log1p(math.exp(low - high))
            self._unrank(media, old, content)
        elif len(scores) >= HOT_ENTRIES:
            # The least in demand is the last entry of one media's ranking.
            coldest_media = max(
                (m for m, entries in self.ranked.items() if entries),
                key=lambda m: self.ranked[m][-1],
            )
            neg, coldest = self.ranked[coldest_media][-1]
            if -neg >= score:
                return
            self.ranked[coldest_media].pop()
            del scores[(coldest, coldest_media)]
        scores[key] = score
        insort(self.ranked.setdefault(media, []), (-score, content))

    def _unrank(self, media: str, score: float, content: str) -> None:
        entries = self.ranked[media]
        del entries[bisect_left(entries, (-score, content))]

    def ranking(self, media: str) -> list[tuple[float, str]]:
        """(-score, content) of ``media``, the most in demand first."""
        return self.ranked.get(media, [])

    @staticmethod
    def score_of(arrivals: float, now: float) -> float:
        """The score of ``arrivals`` decayed arrivals at ``now`` (MIN_DEMAND's and
        DEMAND_PER_HOLDER's floors are scores of this kind)."""
        return now / DEMAND_TIME_S + math.log(arrivals)


def prefetch(planner: DiscflowPlanner, st: DeviceState, now: float, out: Decisions) -> None:
    """Fetch into ``st`` (idle, parking) the content in most demand per holder
    that it writes, lacks and has room for, if any (see the module comment)."""
    if st.download_free_s > now or not st.online:
        return
    # A pair's value (its score less log(1 + holders)) is at most its score: in
    # score order, the scan ends at the first pair no longer in demand or below
    # the best value so far (at first, the least value a prefetch needs).
    in_demand = Demand.score_of(MIN_DEMAND, now)
    contents, holders = planner.snapshot.contents, planner.holders
    room = st.cache_bytes - st.used_bytes
    longest = PREFETCH_MAX_S * st.link_Bps  # the largest content worth fetching
    best_value = Demand.score_of(DEMAND_PER_HOLDER, now)
    best = ""
    for media, left in st.blanks.items():
        if left <= 0:
            continue
        for looked, (neg_score, content) in enumerate(planner.demand.ranking(media)):
            score = -neg_score
            if score < in_demand or score <= best_value or looked >= SCAN_ENTRIES:
                break
            if content in st.cache:
                continue
            size = contents[content]
            if size > room or size > longest:
                continue
            value = score - math.log1p(len(holders.get(content, ())))
            if value > best_value:
                best_value, best = value, content
    if best:
        st.ensure_cached(
            best, contents[best], now=now, policy=planner.cache_policy, out=out, holders=holders
        )
