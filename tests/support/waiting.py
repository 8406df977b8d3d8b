"""Waiting for background work (notifications, settlement, a page that updates) in tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    within: float = 15.0,
    interval: float = 0.05,
) -> T:
    """Fetch until ``done`` holds or ``within`` seconds pass; the last value fetched either way
    (the caller asserts on it, so a failure shows what was seen)."""
    deadline = time.monotonic() + within
    value = await fetch()
    while not done(value) and time.monotonic() < deadline:
        await asyncio.sleep(interval)
        value = await fetch()
    return value


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 15.0, interval: float = 0.05
) -> None:
    """Retry ``check`` until it holds; an ``AssertionError`` if it never does in time."""
    if not await wait_for(check, bool, within, interval):
        raise AssertionError("condition not reached in time")
