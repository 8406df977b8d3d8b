"""The PostgreSQL driver's own pool (``storage.pgpool``) against a real server: its bound, its
order, and that no connection carries a transaction, a half-read answer or a lost slot from one
unit of work into the next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import asyncpg
import pytest
from tests.storage.conftest import server_sessions, until_gone

from jubao.errors import DuplicateKey, StorageError
from jubao.storage.pgpool import Pool
from jubao.storage.postgres import PostgresDatabase
from jubao.storage.sql import Tx, execute, fetch_one

pytestmark = pytest.mark.postgres


async def _open(url: str, *, min_size: int = 1, max_size: int = 4) -> PostgresDatabase:
    return await PostgresDatabase.open(url, min_size=min_size, max_size=max_size)


def _pool(db: PostgresDatabase) -> Pool:
    return db._pool


def _sleep(seconds: float) -> Callable[[], Tx[int]]:
    def unit() -> Tx[int]:
        row = (yield fetch_one("SELECT pg_backend_pid() AS pid, pg_sleep(?)", seconds)).first
        assert row is not None
        return int(row["pid"])

    return unit


def _create_marks() -> Tx[None]:
    yield execute("CREATE TABLE marks (n INT PRIMARY KEY)")


def _count_marks() -> Tx[int]:
    row = (yield fetch_one("SELECT count(*) AS n FROM marks")).first
    assert row is not None
    return int(row["n"])


def _pid() -> Tx[int]:
    row = (yield fetch_one("SELECT pg_backend_pid() AS pid")).first
    assert row is not None
    return int(row["pid"])


async def _retired(pool: Pool) -> None:
    """Wait until the connections the pool dropped are closed (``Pool.discard`` closes them in
    the background)."""
    await asyncio.gather(*pool._retiring)


async def _free_connections_are_clean(db: PostgresDatabase, admin: Any) -> None:
    """Every free connection is open, outside a transaction, with nothing left to read, and the
    server agrees: none of the pool's sessions is in a transaction or running a statement."""
    pool = _pool(db)
    for conn, _ in pool._free:
        assert not conn.is_closed() and not conn.is_in_transaction()
        assert await asyncio.wait_for(conn.fetchval("SELECT 1"), 1) == 1
    pids = {conn.get_server_pid() for conn, _ in pool._free}
    for session in await server_sessions(admin):
        if session["pid"] in pids:
            assert session["state"] == "idle", session


async def test_max_size_is_never_exceeded_under_200_concurrent_units(url: str, admin: Any) -> None:
    db = await _open(url, max_size=5)
    held = 0
    most_held = 0
    most_sessions = 0

    def unit() -> Tx[int]:
        nonlocal held, most_held
        row = (yield fetch_one("SELECT pg_backend_pid() AS pid")).first
        held += 1  # from the first answer to the return, this unit holds a connection
        most_held = max(most_held, held)
        yield fetch_one("SELECT pg_sleep(0.002)")
        held -= 1
        assert row is not None
        return int(row["pid"])

    async def watch() -> None:
        nonlocal most_sessions
        while True:
            most_sessions = max(most_sessions, len(await server_sessions(admin)))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    try:
        pids = await asyncio.gather(*(db.read(unit) for _ in range(200)))
    finally:
        watcher.cancel()
        await db.close()
    assert len(pids) == 200
    assert len(set(pids)) <= 5
    assert most_held == 5  # the bound was reached, and never passed
    assert most_sessions <= 5
    assert _pool(db).size == 0


async def test_waiters_are_served_first_come_first_served(url: str) -> None:
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=1, max_size=1)
    served: list[int] = []

    async def wait_then_release(number: int) -> None:
        conn = await pool.acquire()
        served.append(number)
        await conn.fetchval("SELECT 1")
        pool.release(conn)

    held = await pool.acquire()
    waiters = []
    for number in range(10):
        waiters.append(asyncio.create_task(wait_then_release(number)))
        await asyncio.sleep(0)  # queued in this order
    pool.release(held)
    # a newcomer after the release still queues behind the ten
    waiters.append(asyncio.create_task(wait_then_release(10)))
    await asyncio.gather(*waiters)
    assert served == list(range(11))
    assert pool.size == 1 and pool.free == 1
    await pool.close()


@pytest.mark.parametrize("write", [False, True], ids=["read", "write in a transaction"])
async def test_a_unit_cancelled_mid_statement_leaves_the_pool_clean(
    url: str, admin: Any, write: bool
) -> None:
    db = await _open(url, min_size=2, max_size=2)
    await db.write(_create_marks)

    def slow_write() -> Tx[None]:
        yield execute("INSERT INTO marks VALUES (1)")
        yield execute("SELECT pg_sleep(5)")

    try:
        task = asyncio.create_task(db.write(slow_write) if write else db.read(_sleep(5)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _free_connections_are_clean(db, admin)
        await _retired(_pool(db))
        # the cut statement was cancelled on the server too, not left to run its 5 s
        sessions = await server_sessions(admin)
        assert not [s for s in sessions if s["state"] == "active"], sessions
        assert len(sessions) <= 2
        assert _pool(db).size <= 2
        # the next units work at once, two at a time, and the insert was never committed
        started = asyncio.get_running_loop().time()
        counts = await asyncio.gather(*(db.read(_count_marks) for _ in range(4)))
        assert asyncio.get_running_loop().time() - started < 2
        assert counts == [0] * 4
    finally:
        await db.close()


async def test_a_unique_violation_in_a_transaction_gives_back_a_sound_connection(
    url: str, admin: Any
) -> None:
    db = await _open(url, min_size=1, max_size=1)
    await db.write(_create_marks)

    def twice() -> Tx[None]:
        yield execute("INSERT INTO marks VALUES (2)")
        yield execute("INSERT INTO marks VALUES (2)")

    try:
        before = await db.read(_pid)
        with pytest.raises(DuplicateKey):
            await db.write(twice)
        assert _pool(db).free == 1  # given back, not terminated: the same session goes on
        await _free_connections_are_clean(db, admin)
        assert await db.read(_pid) == before
        assert await db.read(_count_marks) == 0  # the first insert rolled back with the second
    finally:
        await db.close()


async def test_a_connection_killed_while_idle_is_replaced_on_the_next_acquire(
    url: str, admin: Any
) -> None:
    db = await _open(url, min_size=1, max_size=1)
    try:
        first = await db.read(_pid)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        await until_gone(admin, first)
        await asyncio.sleep(0.1)  # the event loop reads the server's goodbye
        second = await db.read(_pid)  # no error: the dead one is dropped, a new one opened
        assert second != first
        assert _pool(db).size == 1
    finally:
        await db.close()


async def test_a_connection_left_idle_too_long_is_replaced(url: str, admin: Any) -> None:
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=1, max_size=1, max_idle=0.2)
    try:
        conn = await pool.acquire()
        first = conn.get_server_pid()
        pool.release(conn)
        conn = await pool.acquire()  # at once: the same one
        assert conn.get_server_pid() == first
        pool.release(conn)
        await asyncio.sleep(0.3)
        conn = await pool.acquire()  # idle past max_idle: a new one, the old one closed
        assert conn.get_server_pid() != first
        assert pool.size == 1
        pool.release(conn)
        await until_gone(admin, first)
    finally:
        await pool.close()


async def test_a_connection_killed_mid_statement_fails_its_unit_and_is_replaced(
    url: str, admin: Any
) -> None:
    db = await _open(url, min_size=1, max_size=1)
    try:
        task = asyncio.create_task(db.read(_sleep(5)))
        for _ in range(200):
            busy = [s for s in await server_sessions(admin) if "pg_sleep" in (s["query"] or "")]
            if busy:
                break
            await asyncio.sleep(0.01)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", busy[0]["pid"])
        with pytest.raises(StorageError):
            await task
        assert await db.read(_pid) != busy[0]["pid"]
        assert _pool(db).size == 1
    finally:
        await db.close()


async def test_cancelled_waiters_leak_no_slot(url: str) -> None:
    db = await _open(url, min_size=0, max_size=3)
    try:
        holders = [asyncio.create_task(db.read(_sleep(0.3))) for _ in range(3)]
        await asyncio.sleep(0.1)
        waiters = [asyncio.create_task(db.read(_pid)) for _ in range(50)]
        await asyncio.sleep(0.05)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*holders)
        assert all(waiter.cancelled() for waiter in waiters)
        pool = _pool(db)
        assert not pool._waiters
        assert pool.size == 3 and pool.free == 3
        # all three slots still serve: three units run side by side, none waits
        running = [asyncio.create_task(db.read(_sleep(0.3))) for _ in range(3)]
        await asyncio.sleep(0.1)
        assert pool.free == 0 and not pool._waiters
        assert len(set(await asyncio.gather(*running))) == 3
    finally:
        await db.close()


@pytest.mark.parametrize("freed", ["connection", "slot"])
async def test_a_waiter_cancelled_as_it_is_handed_something_passes_it_on(
    url: str, freed: str
) -> None:
    """The race: a release hands the longest waiter a connection (or, when the released one is
    terminated, its slot) and that waiter is cancelled before it runs again."""
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=1, max_size=1)
    try:
        held = await pool.acquire()
        first = asyncio.create_task(pool.acquire())
        second = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0)
        if freed == "connection":
            pool.release(held)
        else:
            held.terminate()  # e.g. the server went away: its slot is handed on at once
            pool.release(held, OSError("lost"))
        first.cancel()  # after the hand-over, before `first` runs
        with pytest.raises(asyncio.CancelledError):
            await first
        conn = await asyncio.wait_for(second, 5)  # what `first` was handed went on to `second`
        assert (conn is held) is (freed == "connection")
        assert await conn.fetchval("SELECT 1") == 1
        assert pool.size == 1 and not pool._waiters
        pool.release(conn)
        assert pool.free == 1
    finally:
        await pool.close()


async def test_release_drops_what_it_cannot_trust(url: str) -> None:
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=0, max_size=2)
    try:
        in_transaction = await pool.acquire()
        await in_transaction.execute("BEGIN")
        pool.release(in_transaction)  # "finished normally", but a transaction is open
        assert pool.free == 0
        assert pool.size == 1  # its slot is taken until it is gone
        await _retired(pool)
        assert in_transaction.is_closed() and pool.size == 0

        failed = await pool.acquire()
        pool.release(failed, asyncpg.InterfaceError("confused"))
        await _retired(pool)
        assert failed.is_closed() and pool.size == 0

        sound = await pool.acquire()
        with pytest.raises(asyncpg.DivisionByZeroError) as error:
            await sound.fetchval("SELECT 1 / 0")
        pool.release(sound, error.value)
        assert not sound.is_closed() and pool.free == 1
        assert pool.size == 1
    finally:
        await pool.close()


async def test_a_failed_connect_frees_its_slot(url: str) -> None:
    attempts = 0

    async def connect() -> Any:
        nonlocal attempts
        attempts += 1
        if attempts in (2, 4):
            raise ConnectionRefusedError("refused")
        return await asyncpg.connect(url)

    pool = await Pool.open(connect, min_size=1, max_size=2)
    try:
        held = await pool.acquire()
        with pytest.raises(ConnectionRefusedError):
            await pool.acquire()  # the second slot's connect fails (attempt 2)
        assert pool.size == 1
        other = await pool.acquire()  # the slot was freed: attempt 3 opens it
        waiter = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0)
        pool.discard(other)  # its slot goes to the waiter, whose connect fails (attempt 4)
        with pytest.raises(ConnectionRefusedError):
            await waiter
        assert pool.size == 1
        again = await pool.acquire()  # attempt 5
        assert await again.fetchval("SELECT 1") == 1
        pool.release(again)
        pool.release(held)
        assert pool.size == 2 and pool.free == 2
    finally:
        await pool.close()


async def test_close_wakes_waiters_and_refuses_further_work(url: str, admin: Any) -> None:
    db = await _open(url, min_size=1, max_size=1)
    holder = asyncio.create_task(db.read(_sleep(0.3)))
    await asyncio.sleep(0.05)
    waiters = [asyncio.create_task(db.read(_pid)) for _ in range(5)]
    await asyncio.sleep(0.05)
    await db.close()
    for waiter in waiters:
        with pytest.raises(StorageError, match="已关闭"):
            await asyncio.wait_for(waiter, 1)
    assert isinstance(await holder, int)  # the unit in flight finished on its connection
    await _retired(_pool(db))
    with pytest.raises(StorageError, match="已关闭"):
        await db.read(_pid)
    with pytest.raises(StorageError, match="已关闭"):
        await db.write(_create_marks)
    assert _pool(db).size == 0  # its connection was closed when the holder gave it back
    await until_gone(admin, holder.result())
    await db.close()  # twice is harmless
