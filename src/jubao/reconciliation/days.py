"""China-time days, the unit of channel statements. Pure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from jubao.clock import CHINA

__all__ = ["due_day", "today", "window"]


def window(day: date) -> tuple[int, int]:
    """The day in epoch milliseconds, ``[start, end)``."""
    start = datetime.combine(day, time(0), CHINA)
    end = start + timedelta(days=1)
    return int(start.timestamp()) * 1000, int(end.timestamp()) * 1000


def today(now_ms: int) -> date:
    return datetime.fromtimestamp(now_ms / 1000, CHINA).date()


def due_day(now_ms: int, hour: int) -> date | None:
    """The day whose statements the morning run reconciles: yesterday, once the China-time hour
    has reached ``hour`` (channels publish a day's statement the next morning); before, none."""
    moment = datetime.fromtimestamp(now_ms / 1000, CHINA)
    if moment.hour < hour:
        return None
    return moment.date() - timedelta(days=1)
