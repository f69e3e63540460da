"""KeyHeap pops in exactly the order heapq pops the same (key, tie) tuples."""

from __future__ import annotations

import heapq

from hypothesis import given
from hypothesis import strategies as st

from discflow.scheduler._keyheap import KeyHeap

# Few distinct keys and ties, so equal keys (tie-breaks) and duplicates are common.
_PAIR = st.tuples(st.sampled_from([0.0, 1.5, -2.0, 7.25, 1e9]), st.integers(0, 4))
_OPS = st.lists(st.one_of(_PAIR, st.none()), max_size=60)  # None: pop


@given(initial=st.lists(_PAIR, max_size=20), ops=_OPS)
def test_pops_match_heapq(initial: list[tuple[float, int]], ops: list[object]) -> None:
    heap = KeyHeap(initial)
    reference = list(initial)
    heapq.heapify(reference)
    for op in ops:
        if op is None:
            if not reference:
                continue
            popped = heap.pop()
            assert (popped.key, popped.tie) == heapq.heappop(reference)
        else:
            assert isinstance(op, tuple)
            heap.push(*op)
            heapq.heappush(reference, op)
        assert len(heap) == len(reference)
        if reference:
            assert (heap.top().key, heap.top().tie) == reference[0]
