"""The serving process's garbage collector, tuned once the app has started.

A request frees itself by reference counting (no reference cycles: `tests/test_heap.py`),
so the cyclic collector only finds garbage start-up left behind. Its cost comes from the
heap it walks: the schema, the modules and their caches (over 130,000 objects) made each
full collection take ~100 ms, and a page of 100 members with their history triggered one
every ~15 requests (its documents outlive the youngest generation while it awaits the store).
"""

from __future__ import annotations

import gc

# Net allocations of container objects between two young-generation collections (CPython's
# default is 700). Requests free what they allocate, so this bounds only how much cyclic
# garbage waits for a collection, not the live heap.
YOUNG_COLLECTION_EVERY = 10_000


def settle_heap() -> None:
    """Collect once, freeze what start-up built (no collection walks it again) and collect
    the young generation less often. Call once, when the server is ready to serve."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)


async def settle_heap_once_started(_: object) -> None:
    """`settle_heap` as an aiohttp `on_startup` hook: appended last, it runs after the app's
    own start-up (cleanup contexts: store connected, caches built)."""
    settle_heap()
