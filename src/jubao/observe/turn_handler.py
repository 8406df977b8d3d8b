"""jubao's log handler: the lines of one event-loop turn written to the stream together.

A ``StreamHandler`` on stderr makes one ``write`` system call per line (stderr is line-buffered),
and the gateway logs a line per request (measured side by side in docs/benchmarks.md, rounds three
and four). Here a line logged on a thread that runs an event loop is held, and the
lines held during that loop's turn go out in one ``write`` when the loop next runs its callbacks;
anywhere else (a worker thread, a CLI command without a loop, ``flush``, ``close``) what is held
goes out at once, in order, before the new line. So lines keep their order whatever path logged
them, and the price is that a process killed outright (SIGKILL) loses the lines of its last turn,
never more; an orderly exit flushes them (``logging.shutdown``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TextIO

__all__ = ["TurnBufferedHandler"]


class TurnBufferedHandler(logging.StreamHandler[TextIO]):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._held: list[str] = []
        self._flushing_on: asyncio.AbstractEventLoop | None = None  # the loop called back

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except RecursionError:  # as StreamHandler.emit
            raise
        except Exception:
            self.handleError(record)
            return
        self.hold(line)

    def hold(self, line: str) -> None:
        """Write ``line`` (terminator included) at the end of this turn, or now outside a loop.
        Callers outside ``emit`` need not hold the handler's lock."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self.lock:  # type: ignore[union-attr]  # made with the handler
            if loop is None:
                self._held.append(line)
                self._write_held()
                return
            if self._flushing_on is not None and self._flushing_on is not loop:
                # held for another loop (closed since, or on another thread): out first
                self._write_held()
                self._flushing_on = None
            self._held.append(line)
            if self._flushing_on is None:
                self._flushing_on = loop
                loop.call_soon(self._turn_ended)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_held()
            super().flush()

    def close(self) -> None:
        self.flush()  # what the turn holds is written, not dropped with the handler
        super().close()

    def _turn_ended(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._flushing_on = None
            self._write_held()

    def _write_held(self) -> None:
        """With the lock held."""
        if not self._held:
            return
        text = self._held[0] if len(self._held) == 1 else "".join(self._held)
        self._held = []
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # a broken stream: reported once, as StreamHandler reports it
            self.handleError(_unwritten(text))


def _unwritten(text: str) -> logging.LogRecord:
    return logging.LogRecord("jubao", logging.ERROR, __file__, 0, "%s", (text[:200],), None)
