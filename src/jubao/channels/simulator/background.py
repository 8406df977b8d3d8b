"""The simulator's background work (notification deliveries, refund settlements), one task per
name at a time: spawning a name that is already running is a no-op."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["Background"]

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: set[str] = set()

    def running(self, name: str) -> bool:
        return name in self._active

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        if name in self._active:
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._active.add(name)
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._active.discard(name)
            if not done.cancelled() and done.exception() is not None:
                log.error("simulator background task %s failed", name, exc_info=done.exception())

        task.add_done_callback(finished)

    async def idle(self) -> None:
        """Waits until no background work is running (including work spawned meanwhile)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
