"""The garbage collector's settings for a long-running server process.

CPython runs a young-generation collection every 700 net allocations of container objects; a
gateway request allocates thousands, so under load the collector ran several times per request
and walked the objects start-up made on every older pass. A server's cycles are rare and small:
collect after start-up, freeze what start-up built (never walked again) and collect the young
generation every 20,000 allocations. Measured side by side in docs/benchmarks.md (gateway CPU per
mina order -9 %).
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "settle"]

THRESHOLDS = (20_000, 20, 50)


def settle() -> None:
    """Call once start-up has built what the process keeps (the app, pools, caches)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
