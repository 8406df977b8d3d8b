"""Per-app rate limiting: a token bucket per key, in this process's memory, pure.

Each key owns a bucket of ``burst`` tokens refilled at ``rate`` tokens a second; a request takes
one token or is refused at once (nobody waits, so one flooding app cannot slow another). With N
gateway processes the effective limit for one app is N times the setting: the buckets are not
shared (see docs/security.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]

_MAX_BUCKETS = 10_000  # beyond this, idle (full) buckets are dropped


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """``rate`` tokens per second (0 or less: no limit); ``burst`` the bucket size (at
        least one token, and at least ``rate`` when not set)."""
        self.rate = max(rate, 0.0)
        self.burst = max(float(burst) if burst > 0 else self.rate, 1.0)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def allow(self, key: str) -> bool:
        """Take one token from ``key``'s bucket if it has one."""
        if not self.enabled:
            return True
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._drop_idle(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            elapsed = max(now - bucket.updated, 0.0)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` has a token again (0 when it has one now)."""
        bucket = self._buckets.get(key)
        if not self.enabled or bucket is None:
            return 0.0
        tokens = min(self.burst, bucket.tokens + (self._clock() - bucket.updated) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _drop_idle(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[key]
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()  # all busy: forgetting gives them a fresh burst, never less
