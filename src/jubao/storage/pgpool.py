"""A small pool of raw asyncpg connections, for ``PostgresDatabase``.

asyncpg's ``Pool`` wraps each connection it hands out in a ``PoolConnectionProxy`` and keeps
holders, timers and generations: an acquire, one statement and a release cost ~16 µs of CPU more
than the statement on a raw connection, ~10 µs of it the acquire and release (docs/benchmarks.md,
"Round four"). This pool keeps only what jubao needs:

- at most ``max_size`` connections, ``min_size`` opened at start; a free one is handed out at
  once (last in, first out), else a new one is opened while under ``max_size``, else the caller
  waits. Waiters are served first come, first served: what a release frees (a connection, or the
  slot of one dropped) goes to the longest waiter directly. A waiter cancelled after it was handed
  something gives it back, so neither a connection nor a slot leaks;
- a connection carries nothing from one unit of work into the next (this is about money). It
  goes back only when the unit finished normally or with an error the server reported about a
  statement (``asyncpg.PostgresError``: the answer was read to its end and any ``transaction()``
  block has rolled back; not SQLSTATE classes 08 and 57 nor a FATAL one, which speak of the
  session itself), and only when it is open and not in a transaction. Anything else (cancellation,
  a timeout, ``OSError``, ``InterfaceError``, a fault of the connection itself, any other
  exception) may leave a statement cut short or an answer half read: the connection is dropped
  (``discard``: closed in the background, so asyncpg's cancel request of the cut statement still
  reaches the server, else terminated) and its slot freed once it is gone;
- no reset query on release: jubao sets no session state (no ``SET``, ``LISTEN``, or advisory
  lock outside ``migrate``, which releases its own);
- a connection found closed (the server went away) is never handed out, nor one left free for
  ``max_idle`` seconds (asyncpg's pool closed those too: a firewall or NAT may have dropped it
  without a word, and a statement on it would hang until TCP gives up);
- ``close()`` refuses new work with ``StorageError``, wakes the waiters with it, closes the free
  connections and drops those in use when their units release them. Every call returns once the
  connections it could close are closed; one cancelled leaves those closes running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import asyncpg

from jubao.errors import StorageError

__all__ = ["Connection", "Pool"]

Connection = Any  # an asyncpg.Connection (asyncpg ships no types)
MAX_IDLE = 300.0  # seconds a connection may stay free before it is replaced (asyncpg's default)
_CLOSE_TIMEOUT = 5.0  # seconds for a graceful close before the connection is terminated
# SQLSTATE classes after which a connection is not trusted: 08 connection exception, 57 operator
# intervention (a cancelled statement, the server shutting down or the backend terminated)
_SUSPECT_CLASSES = frozenset({"08", "57"})


_now = time.monotonic


def closed_error() -> StorageError:
    return StorageError("数据库连接池已关闭")


class Pool:
    """``acquire`` a connection, run one unit of work on it, ``release`` it with the unit's
    exception (``None`` when it finished normally): the pool decides whether it goes back."""

    __slots__ = (
        "_closed", "_connect", "_free", "_max_idle", "_max_size", "_retiring", "_size", "_waiters"
    )  # fmt: skip

    def __init__(
        self,
        connect: Callable[[], Awaitable[Connection]],
        *,
        max_size: int,
        max_idle: float = MAX_IDLE,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._connect = connect
        self._max_size = max_size
        self._max_idle = max_idle
        self._free: list[tuple[Connection, float]] = []  # with when each came back
        # each waiter's future gets a connection, or None: a slot to open one in
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._size = 0  # connections open, in use, being opened or retired: slots taken
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    async def open(
        cls,
        connect: Callable[[], Awaitable[Connection]],
        *,
        min_size: int,
        max_size: int,
        max_idle: float = MAX_IDLE,
    ) -> Pool:
        if not 0 <= min_size <= max_size:
            raise ValueError("need 0 <= min_size <= max_size")
        pool = cls(connect, max_size=max_size, max_idle=max_idle)
        pool._size = min_size
        connecting = [asyncio.ensure_future(connect()) for _ in range(min_size)]
        try:
            opened = await asyncio.gather(*connecting, return_exceptions=True)
        except BaseException:
            # cancelled (gather has waited for the connects it cancelled): close those that had
            # opened, or they would stay on the server until the collector found them
            for task in connecting:
                if task.done() and not task.cancelled() and task.exception() is None:
                    task.result().terminate()
            raise
        failure = next((c for c in opened if isinstance(c, BaseException)), None)
        if failure is not None:
            for conn in opened:
                if not isinstance(conn, BaseException):
                    conn.terminate()
            raise failure
        now = _now()
        pool._free.extend((conn, now) for conn in opened)
        return pool

    @property
    def size(self) -> int:
        """Slots taken: connections free, in use, being opened or being closed."""
        return self._size

    @property
    def free(self) -> int:
        return len(self._free)

    def is_closed(self) -> bool:
        return self._closed

    async def acquire(self) -> Connection:
        if self._closed:
            raise closed_error()
        free = self._free
        while free:
            conn, since = free.pop()
            if not conn.is_closed() and _now() - since < self._max_idle:
                return conn
            # the server went away, or it may have: drop it (idle, so nothing runs on it); its
            # slot is ours to reuse
            conn.terminate()
            self._size -= 1
        if self._size < self._max_size:
            self._size += 1
            return await self._open_in_slot()
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn = await waiter
        except BaseException:
            if not waiter.done():
                waiter.cancel()
            if waiter.cancelled():
                with contextlib.suppress(ValueError):  # a release or close() may have taken it
                    self._waiters.remove(waiter)
            elif waiter.exception() is None:
                # handed a connection or a slot while being cancelled: pass it on
                self._give(waiter.result())
            raise
        if self.is_closed():  # closed while this waiter was being woken
            self._give(conn)  # closed: terminated, or the slot dropped
            raise closed_error()
        if conn is None:
            return await self._open_in_slot()
        if conn.is_closed():
            conn.terminate()
            return await self._open_in_slot()
        return conn

    def release(self, conn: Connection, exc: BaseException | None = None) -> None:
        """Give back ``conn`` after a unit of work that raised ``exc`` (``None``: none)."""
        if (
            not self._closed
            and (exc is None or _sound_after(exc))
            and not conn.is_closed()
            and not conn.is_in_transaction()
        ):
            self._give(conn)
            return
        self.discard(conn)

    def discard(self, conn: Connection) -> None:
        """Drop ``conn``, taken from this pool, never to use it again, whatever state it is in; its
        slot is freed once it is gone (so the server never holds more than ``max_size`` sessions).

        An open one is closed in the background rather than terminated at once: asyncpg first
        sends the cancel request of a statement cut short (``terminate`` would drop it, and the
        server would run that statement to its end, its transaction's locks held), then ends the
        session, which rolls back any transaction; past ``_CLOSE_TIMEOUT`` it is terminated."""
        if conn.is_closed():
            conn.terminate()
            self._give(None)
            return
        retiring = asyncio.get_running_loop().create_task(_close(conn))
        self._retiring.add(retiring)
        retiring.add_done_callback(partial(self._retired, conn))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            waiters, self._waiters = self._waiters, deque()
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(closed_error())
            free, self._free = self._free, []
            for conn, _ in free:
                self.discard(conn)  # closed in the background, each slot freed once it is gone
        # every close() waits (a second caller too: the process may end when it returns);
        # connections in use are dropped as their units release them. asyncio.wait, not gather:
        # a close() cancelled must not cancel the closes with it (one cancelled before it began
        # would leave its connection open on the server, held by nobody)
        if self._retiring:
            await asyncio.wait(self._retiring)

    def _retired(self, conn: Connection, retiring: asyncio.Task[None]) -> None:
        """Once ``discard``'s close is over, however it ended: in a callback, not in the task, as
        a task cancelled before it began (the loop shutting down on KeyboardInterrupt cancels
        every task) runs none of its code, and would leave its connection open on the server."""
        self._retiring.discard(retiring)
        if not conn.is_closed():
            conn.terminate()
        self._give(None)

    async def _open_in_slot(self) -> Connection:
        """Open a connection in a slot already taken; on failure the slot is freed."""
        try:
            conn = await self._connect()
        except BaseException:
            self._give(None)
            raise
        if self._closed:
            conn.terminate()
            self._size -= 1
            raise closed_error()
        return conn

    def _give(self, conn: Connection | None) -> None:
        """Hand ``conn`` (``None``: a freed slot) to the longest waiter, else keep it."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter's future is done
                waiter.set_result(conn)
                return
        if self._closed:
            if conn is not None:
                conn.terminate()
            self._size -= 1
        elif conn is None:
            self._size -= 1
        else:
            self._free.append((conn, _now()))


async def _close(conn: Connection) -> None:
    with contextlib.suppress(Exception):  # a failed close: asyncpg has aborted it already
        await conn.close(timeout=_CLOSE_TIMEOUT)


def _sound_after(exc: BaseException) -> bool:
    """Whether a connection may be trusted after its unit raised ``exc``: only after an error the
    server reported about a statement, with the answer read to its end."""
    if not isinstance(exc, asyncpg.PostgresError):
        return False
    if exc.severity_en in ("FATAL", "PANIC") or exc.severity in ("FATAL", "PANIC"):
        return False
    return str(exc.sqlstate or "")[:2] not in _SUSPECT_CLASSES
