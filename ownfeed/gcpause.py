"""Fewer garbage-collector passes while a sync runs.

A first sync allocates millions of short-lived containers (parsed posts, rows); with the
default gen-0 threshold (700) the collector runs every few hundred of them and each full
pass walks every object alive since start-up (modules, config, the HTTP client). Freezing
what exists at the start moves it out of the collector's sight, and a higher gen-0
threshold makes passes rarer; cycles are still collected, and both settings are restored.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Container allocations between gen-0 collections during a sync (CPython's default: 700).
SYNC_THRESHOLD = 50_000


@contextmanager
def fewer_collections(threshold: int = SYNC_THRESHOLD) -> Iterator[None]:
    """Freeze the objects alive now and collect less often until the block ends."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
