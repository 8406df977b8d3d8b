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


@lru_cache(maxsize=64)
def china_text(epoch_second: int, fmt: str) -> str:
    """That second in Beijing time as ``fmt`` writes it (formats down to the second, not
    ``%f``). An order serial starts with the time, and strftime costs ~1 µs: a second's text is
    made once."""
    return datetime.fromtimestamp(epoch_second, CHINA).strftime(fmt)
