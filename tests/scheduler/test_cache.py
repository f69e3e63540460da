"""EvictionOrder picks exactly what choose_victims picks, fetch after fetch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from discflow.scheduler._cache import CachePolicy, EvictionOrder, choose_victims
from discflow.scheduler._model import CachedContent

# One step: (advance the clock, content, size, need, pinned, a use rather than a fetch).
_steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 1.0, 5.0, 30.0]),
        st.integers(0, 11),
        st.sampled_from([1, 2, 3, 5, 8]),
        st.integers(-2, 20),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


def _check(
    policy: CachePolicy,
    steps: list[tuple[float, int, int, int, bool, bool]],
    planned: frozenset[str] = frozenset(),
) -> None:
    cache: dict[str, CachedContent] = {}
    order = EvictionOrder.of(cache, policy, 0.0)
    now = 0.0
    for advance, k, size, need, pinned, use in steps:
        now += advance
        content = f"c{k}"
        old = cache.get(content)
        if use and old is not None:
            # A burn promised from it: used now, busy a while, one more hit.
            entry = CachedContent(
                content, old.size_bytes, now, old.ready_s, now + 2 * size, old.pinned, old.hits + 1
            )
        else:
            want = choose_victims(
                cache.values(), need_bytes=need, keep=content, now=now, policy=policy,
                planned=planned,
            )  # fmt: skip
            got = order.take(cache, need_bytes=need, keep=content, now=now, planned=planned)
            assert got == want
            for victim in got or ():
                del cache[victim.content]
            if old is not None:
                continue
            ready = now + size
            entry = CachedContent(content, size, now, ready, ready, pinned and k % 3 == 0, 0)
        cache[content] = entry
        order.touch(content)


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_eviction_order_matches_choose_victims_gdsf(
    steps: list[tuple[float, int, int, int, bool, bool]],
) -> None:
    _check("gdsf", steps)


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_eviction_order_matches_choose_victims_lru(
    steps: list[tuple[float, int, int, int, bool, bool]],
) -> None:
    _check("lru", steps)


@settings(max_examples=300, deadline=None)
@given(_steps, st.frozensets(st.sampled_from([f"c{k}" for k in range(12)]), max_size=4))
def test_eviction_order_takes_planned_contents_last_like_choose_victims(
    steps: list[tuple[float, int, int, int, bool, bool]], planned: frozenset[str]
) -> None:
    # the device's planned work still needs these: they go after the others that can
    # go now, and after the others that must wait (s5-batch's rule)
    _check("gdsf", steps, planned)
    _check("lru", steps, planned)
