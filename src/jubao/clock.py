"""Time, injectable. Stored timestamps are integer epoch milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

__all__ = ["CHINA", "Clock", "china_text", "from_ms", "system_clock", "to_ms"]

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")

Clock = Callable[[], int]
"""Returns epoch milliseconds."""


def system_clock() -> int:
    return time.time_ns() // 1_000_000


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def china_text(moment: datetime, fmt: str) -> str:
    """``moment`` in Beijing time as ``fmt`` writes it, for formats down to the second (not
    ``%f``). An order serial starts with the time, and strftime costs ~1 µs; a second's
    text is made once."""
    return _china_second(int(moment.timestamp() // 1), fmt)


@lru_cache(maxsize=64)
def _china_second(second: int, fmt: str) -> str:
    return datetime.fromtimestamp(second, CHINA).strftime(fmt)
