"""Trying to break the PostgreSQL driver's pool (``storage.pgpool``) against a real server:
cancellation at each await point, the server killing sessions, failing connects, ``close()`` in
the middle of everything, units raising what they should not, and all of it at once. Each test
checks what the pool promises: no slot leaked, never more than ``max_size`` sessions on the
server, no connection handed on with a transaction or a half-read answer, and each unit of work
committed whole or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import traceback
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg
import pytest
from tests.storage.conftest import server_sessions, until_gone

from jubao.errors import DuplicateKey, StorageError
from jubao.storage.pgpool import Pool
from jubao.storage.postgres import PostgresDatabase
from jubao.storage.sql import Tx, execute, fetch_all, fetch_one

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def _settled(pool: Pool) -> None:
    """Wait (bounded) until the pool's background closes are done and nothing is in flight."""
    for _ in range(500):
        await asyncio.gather(*pool._retiring, return_exceptions=True)
        if not pool._retiring:
            return
    raise AssertionError("retiring never ends")


async def _no_sessions_left(admin: Any) -> None:
    for _ in range(300):
        if not await server_sessions(admin):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"sessions left on the server: {await server_sessions(admin)}")


async def _full_concurrency(pool: Pool, max_size: int) -> None:
    """``max_size`` connections can be held at once, each sound, and then all go back."""
    conns = await asyncio.wait_for(asyncio.gather(*(pool.acquire() for _ in range(max_size))), 10)
    try:
        assert len({id(c) for c in conns}) == max_size
        assert pool.size == max_size
        for conn in conns:
            assert not conn.is_in_transaction()
            row = await asyncio.wait_for(
                conn.fetchrow("SELECT pg_current_xact_id_if_assigned() IS NULL AS fresh"), 5
            )
            assert row["fresh"]
    finally:
        for conn in conns:
            pool.release(conn)
    assert pool.size == pool.free == max_size


def _checked_read() -> Tx[int]:
    """A read that fails loudly if its connection carries a transaction from an earlier unit: its
    statement's transaction must have begun after the unit did (client and server share a
    clock), and must hold no transaction id."""
    started = datetime.now(UTC)
    row = (
        yield fetch_one(
            "SELECT pg_backend_pid() AS pid, now() >= ? AS fresh, "
            "pg_current_xact_id_if_assigned() IS NULL AS no_xact",
            started,
        )
    ).first
    assert row is not None
    assert row["fresh"] and row["no_xact"], "a connection came with a transaction"
    return int(row["pid"])


def _create_tables() -> Tx[None]:
    yield execute("CREATE TABLE ledger (id BIGSERIAL PRIMARY KEY, unit INT NOT NULL, k INT)")
    yield execute("CREATE TABLE uniq (n INT PRIMARY KEY)")
    yield execute("INSERT INTO uniq VALUES (0)")


async def _ledger(admin: Any) -> dict[int, list[int]]:
    rows = await admin.fetch("SELECT unit, k FROM ledger ORDER BY unit, k")
    out: dict[int, list[int]] = {}
    for row in rows:
        out.setdefault(row["unit"], []).append(row["k"])
    return out


# --- the whole pool under random faults -------------------------------------------------------


async def test_randomized_stress_keeps_every_promise(url: str, admin: Any) -> None:
    """300 units, ``max_size`` 4, random delays, cancellations, killed backends and unique
    violations: at the end no slot is leaked, the server never saw more than four sessions, and
    every unit's rows are there whole (exactly once) or not at all, as its outcome says."""
    max_size = 4
    rng = random.Random(int(os.environ.get("POOL_SEED", "20261130")))
    db = await PostgresDatabase.open(url, min_size=1, max_size=max_size)
    pool = db._pool
    await db.write(_create_tables)

    def write_unit(number: int, pause: float, duplicate: bool) -> Callable[[], Tx[None]]:
        if pause == 0.0 and not duplicate and number % 2:  # one statement, no BEGIN/COMMIT
            return partial(alone_unit, number)

        def unit() -> Tx[None]:
            row = (
                yield fetch_one("SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xact")
            ).first
            assert row is not None and row["no_xact"], "a connection came with a transaction"
            for k in range(3):
                yield execute("INSERT INTO ledger (unit, k) VALUES (?, ?)", number, k)
                if pause:
                    yield execute("SELECT pg_sleep(?)", pause)
            if duplicate:
                yield execute("INSERT INTO uniq VALUES (0)")

        return unit

    def alone_unit(number: int) -> Tx[None]:
        row = (
            yield fetch_one(
                "INSERT INTO ledger (unit, k) SELECT ?, k FROM generate_series(0, 2) k "
                "RETURNING unit",
                number,
                alone=True,
            )
        ).first
        assert row is not None
        yield fetch_one("SELECT count(*) FROM ledger WHERE unit = ?", number)

    outcomes: dict[int, str] = {}
    most_sessions = 0
    kills = 0

    async def run(number: int) -> None:
        await asyncio.sleep(rng.random() * 0.5)
        kind = rng.random()
        try:
            if kind < 0.3:
                await db.read(_checked_read)
            else:
                pause = rng.choice([0.0, 0.0, 0.001, 0.005, 0.02])
                await db.write(write_unit(number, pause, rng.random() < 0.15))
        except DuplicateKey:
            outcomes[number] = "duplicate"
        except StorageError:
            outcomes[number] = "storage"
        except asyncio.CancelledError:
            outcomes[number] = "cancelled"
            raise
        else:
            outcomes[number] = "read" if kind < 0.3 else "ok"

    async def watch_and_kill() -> None:
        nonlocal most_sessions, kills
        while True:
            sessions = await server_sessions(admin)
            most_sessions = max(most_sessions, len(sessions))
            if sessions and rng.random() < 0.15:
                victim = rng.choice(sessions)["pid"]
                await admin.fetchval("SELECT pg_terminate_backend($1)", victim)
                kills += 1
            await asyncio.sleep(0.003)

    watcher = asyncio.create_task(watch_and_kill())
    tasks = [asyncio.create_task(run(n)) for n in range(300)]
    for task in rng.sample(tasks, 45):  # cancel some at random moments
        asyncio.get_running_loop().call_later(rng.random() * 0.8, task.cancel)
    try:
        done, pending = await asyncio.wait(tasks, timeout=90)
        assert not pending, f"{len(pending)} units hung"
        errors = [t.exception() for t in done if not t.cancelled() and t.exception()]
        for error in errors[:3]:
            traceback.print_exception(error)
        assert not errors, errors[:5]
        await _settled(pool)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert kills > 0 and "cancelled" in outcomes.values() and "duplicate" in outcomes.values()
    assert most_sessions <= max_size, most_sessions
    assert not pool._waiters
    assert pool.size == pool.free  # nothing in use, nothing being opened or closed: no leak
    await asyncio.sleep(0.1)  # the loop reads the goodbye of a free one killed at the end
    alive = [conn for conn, _ in pool._free if not conn.is_closed()]
    assert len(await server_sessions(admin)) == len(alive)
    await _full_concurrency(pool, max_size)

    ledger = await _ledger(admin)
    for number, ks in ledger.items():
        assert ks == [0, 1, 2], (number, ks, outcomes.get(number))  # whole, exactly once
    for number, outcome in outcomes.items():
        if outcome == "ok":
            assert number in ledger, number
        elif outcome == "duplicate":
            assert number not in ledger, number
    for task in tasks:  # a unit cancelled before it recorded an outcome wrote whole or nothing
        assert task.done()
    await db.close()
    await _no_sessions_left(admin)


# --- cancellation at each await point ---------------------------------------------------------


def _slow_connect(url: str, rng: random.Random, most: float) -> Callable[[], Awaitable[Any]]:
    async def connect() -> Any:
        await asyncio.sleep(rng.random() * most)
        return await asyncpg.connect(url)

    return connect


async def test_acquires_cancelled_at_random_moments_leak_nothing(url: str, admin: Any) -> None:
    """Cancelled while waiting, while their connect is in flight (before, in and after the
    server's handshake), while holding, or as a release hands them what it freed."""
    max_size = 3
    rng = random.Random(7)
    pool = Pool(_slow_connect(url, rng, 0.02), max_size=max_size)
    most_sessions = 0
    held: set[int] = set()

    async def use() -> None:
        await asyncio.sleep(rng.random() * 0.2)
        conn = await pool.acquire()
        assert id(conn) not in held, "one connection handed to two units at once"
        held.add(id(conn))
        try:
            assert not conn.is_in_transaction()
            await conn.execute("SELECT pg_sleep($1)", rng.choice([0, 0.001, 0.01]))
        except BaseException as exc:
            held.discard(id(conn))
            pool.release(conn, exc)
            raise
        held.discard(id(conn))
        if rng.random() < 0.2:
            conn.terminate()  # gone under its unit: the release frees the slot at once
            pool.release(conn, OSError("lost"))
        else:
            pool.release(conn)

    async def watch() -> None:
        nonlocal most_sessions
        while True:
            most_sessions = max(most_sessions, len(await server_sessions(admin)))
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    tasks = [asyncio.create_task(use()) for _ in range(200)]
    for task in rng.sample(tasks, 80):
        asyncio.get_running_loop().call_later(rng.random() * 0.3, task.cancel)
    try:
        done, pending = await asyncio.wait(tasks, timeout=60)
        assert not pending, f"{len(pending)} acquires hung"
        errors = [t.exception() for t in done if not t.cancelled() and t.exception()]
        assert not errors, errors[:5]
        assert sum(t.cancelled() for t in tasks) > 10
        await _settled(pool)
        assert most_sessions <= max_size
        assert not pool._waiters
        assert pool.size == pool.free
        await _full_concurrency(pool, max_size)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await pool.close()
    await _no_sessions_left(admin)


async def test_a_waiter_handed_a_slot_and_cancelled_in_its_connect_frees_the_slot(
    url: str, admin: Any
) -> None:
    connects = 0

    async def connect() -> Any:
        nonlocal connects
        connects += 1
        if connects > 1:
            await asyncio.sleep(1)  # the waiter's connect hangs: it is cancelled in here
        return await asyncpg.connect(url)

    pool = Pool(connect, max_size=1)
    try:
        held = await pool.acquire()
        waiter = asyncio.create_task(pool.acquire())
        behind = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        pool.discard(held)  # its slot goes to `waiter`, which opens a connection in it
        await asyncio.sleep(0.1)
        assert pool.size == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        conn = await asyncio.wait_for(behind, 5)  # the slot went on to `behind`
        assert await conn.fetchval("SELECT 1") == 1
        assert pool.size == 1
        pool.release(conn)
        await _settled(pool)
        assert len(await server_sessions(admin)) == 1
    finally:
        await pool.close()


async def test_units_cancelled_around_their_commit_commit_whole_or_not_at_all(
    url: str, admin: Any
) -> None:
    """A unit cancelled at every moment from its BEGIN to past its COMMIT: its rows are all
    there or none, and the pool serves on with clean connections."""
    db = await PostgresDatabase.open(url, min_size=1, max_size=2)
    await db.write(_create_tables)
    outcomes: dict[int, str] = {}

    def unit(number: int) -> Callable[[], Tx[None]]:
        def run() -> Tx[None]:
            for k in range(3):
                yield execute("INSERT INTO ledger (unit, k) VALUES (?, ?)", number, k)

        return run

    try:
        for number in range(120):
            task = asyncio.create_task(db.write(unit(number)))
            delay = (number % 40) * 0.0001  # 0 to 4 ms: from before BEGIN to past COMMIT
            await asyncio.sleep(delay)
            task.cancel()
            try:
                await asyncio.wait_for(task, 5)
            except asyncio.CancelledError:
                outcomes[number] = "cancelled"
            else:
                outcomes[number] = "ok"
        await _settled(db._pool)
        ledger = await _ledger(admin)
        for number, ks in ledger.items():
            assert ks == [0, 1, 2], (number, ks)
        for number, outcome in outcomes.items():
            if outcome == "ok":
                assert number in ledger
        assert "cancelled" in outcomes.values()
        assert db._pool.size == db._pool.free
        await _full_concurrency(db._pool, 2)
        assert isinstance(await db.read(_checked_read), int)
    finally:
        await db.close()


# --- close() in the middle of everything ------------------------------------------------------


async def test_close_while_units_run_connects_fly_and_waiters_wait(url: str, admin: Any) -> None:
    connects = 0

    async def connect() -> Any:
        nonlocal connects
        connects += 1
        if connects > 2:
            await asyncio.sleep(0.2)  # the third and fourth slots' connects are in flight
        return await asyncpg.connect(url)

    db = PostgresDatabase(Pool(connect, max_size=4))
    pool = db._pool

    def slow() -> Tx[int]:
        row = (yield fetch_one("SELECT pg_backend_pid() AS pid, pg_sleep(0.3)")).first
        assert row is not None
        return int(row["pid"])

    running = [asyncio.create_task(db.read(slow)) for _ in range(2)]
    await asyncio.sleep(0.1)
    connecting = [asyncio.create_task(db.read(_checked_read)) for _ in range(2)]
    await asyncio.sleep(0.01)
    waiting = [asyncio.create_task(db.read(_checked_read)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert pool.size == 4 and len(pool._waiters) == 5
    await asyncio.wait_for(db.close(), 5)
    for task in [*connecting, *waiting]:
        with pytest.raises(StorageError, match="已关闭"):
            await asyncio.wait_for(task, 5)
    for task in running:  # units in flight finish on their connections
        assert isinstance(await asyncio.wait_for(task, 5), int)
    await _settled(pool)
    assert pool.size == 0 and not pool._waiters and not pool._free
    await _no_sessions_left(admin)
    with pytest.raises(StorageError, match="已关闭"):
        await db.read(_checked_read)


async def test_close_cancelled_while_it_retires_connections_hangs_nothing(
    url: str, admin: Any
) -> None:
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=2, max_size=2)
    conn = await pool.acquire()
    statement = asyncio.create_task(conn.execute("SELECT pg_sleep(2)"))
    await asyncio.sleep(0.05)
    statement.cancel()
    with pytest.raises(asyncio.CancelledError):
        await statement
    pool.release(conn, asyncio.CancelledError())  # retired in the background
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0)
    closing.cancel()
    await asyncio.gather(closing, return_exceptions=True)
    await asyncio.wait_for(_settled(pool), 5)
    assert pool.size == 0
    await _no_sessions_left(admin)


# --- connects that fail -----------------------------------------------------------------------


async def test_connects_failing_at_random_under_load(url: str, admin: Any) -> None:
    max_size = 4
    rng = random.Random(11)

    async def connect() -> Any:
        await asyncio.sleep(rng.random() * 0.01)
        if rng.random() < 0.4:
            raise ConnectionRefusedError("refused")
        return await asyncpg.connect(url)

    db = PostgresDatabase(Pool(connect, max_size=max_size))
    outcomes: list[str] = []

    async def run() -> None:
        await asyncio.sleep(rng.random() * 0.2)
        if rng.random() < 0.1:  # a connection dropped: the next one must be opened
            with contextlib.suppress(ConnectionRefusedError):
                db._pool.discard(await db._pool.acquire())
        try:
            await db.read(_checked_read)
        except StorageError:
            outcomes.append("failed")
        else:
            outcomes.append("ok")

    try:
        await asyncio.wait_for(asyncio.gather(*(run() for _ in range(200))), 60)
        assert "failed" in outcomes and "ok" in outcomes
        await _settled(db._pool)
        assert db._pool.size == db._pool.free <= max_size
        assert not db._pool._waiters
        assert len(await server_sessions(admin)) == db._pool.size
    finally:
        await db.close()
    await _no_sessions_left(admin)


async def test_an_unreachable_server_fails_every_unit_and_waiter() -> None:
    db = PostgresDatabase(
        Pool(partial(asyncpg.connect, "postgresql://postgres@127.0.0.1:1/x"), max_size=2)
    )
    results = await asyncio.wait_for(
        asyncio.gather(*(db.read(_checked_read) for _ in range(50)), return_exceptions=True), 30
    )
    assert all(isinstance(r, StorageError) for r in results), results[:3]
    assert db._pool.size == 0 and not db._pool._waiters
    await db.close()


# --- max_idle racing acquisition --------------------------------------------------------------


async def test_max_idle_expiring_under_load_keeps_the_bound(url: str, admin: Any) -> None:
    max_size = 3
    rng = random.Random(3)
    db = PostgresDatabase(Pool(partial(asyncpg.connect, url), max_size=max_size, max_idle=0.005))
    most_sessions = 0

    async def watch() -> None:
        nonlocal most_sessions
        while True:
            most_sessions = max(most_sessions, len(await server_sessions(admin)))
            await asyncio.sleep(0.001)

    async def run() -> int:
        await asyncio.sleep(rng.random() * 0.5)
        return await db.read(_checked_read)

    watcher = asyncio.create_task(watch())
    try:
        pids = await asyncio.wait_for(asyncio.gather(*(run() for _ in range(150))), 60)
        assert len(set(pids)) > max_size  # connections were replaced
        await _settled(db._pool)
        assert db._pool.size == db._pool.free <= max_size
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await db.close()
    assert most_sessions <= max_size, most_sessions
    await _no_sessions_left(admin)


# --- units that raise what they should not ----------------------------------------------------


class Interrupt(BaseException):
    """Like KeyboardInterrupt (which asyncio re-raises out of the event loop, pytest with it)."""


@pytest.mark.parametrize("raised", [Interrupt, GeneratorExit, RuntimeError])
@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_a_unit_raising_anything_is_not_swallowed_and_leaks_nothing(
    url: str, admin: Any, raised: type[BaseException], write: bool
) -> None:
    db = await PostgresDatabase.open(url, min_size=1, max_size=1)
    await db.write(_create_tables)

    def unit() -> Tx[None]:
        yield execute("INSERT INTO ledger (unit, k) VALUES (1, 0)")
        yield fetch_one("SELECT 1")
        raise raised("boom")

    try:
        task = asyncio.create_task(db.write(unit) if write else db.read(unit))
        done, _ = await asyncio.wait([task], timeout=5)
        assert done, "the unit hung"
        error = task.exception()
        assert type(error) is raised  # not swallowed, not wrapped
        await _settled(db._pool)
        assert db._pool.size == db._pool.free
        ledger = await _ledger(admin)
        # a read has no transaction: its statement committed alone; a write rolled back
        assert (1 in ledger) is (not write)
        assert isinstance(await asyncio.wait_for(db.read(_checked_read), 5), int)
    finally:
        await db.close()


# --- answers cut short ------------------------------------------------------------------------


async def test_an_error_midway_through_a_long_answer_leaves_a_sound_connection(url: str) -> None:
    db = await PostgresDatabase.open(url, min_size=1, max_size=1)

    def failing() -> Tx[None]:
        yield fetch_all("SELECT n, 1 / (1500 - n) AS x FROM generate_series(1, 3000) n")

    def counting() -> Tx[int]:
        rows = (yield fetch_all("SELECT n FROM generate_series(1, 5) n")).rows
        return len(rows)

    try:
        before = await db.read(_checked_read)
        with pytest.raises(StorageError, match="DivisionByZero"):
            await db.read(failing)
        assert db._pool.free == 1  # the server's error, read to its end: kept
        assert await db.read(_checked_read) == before
        assert await db.read(counting) == 5
    finally:
        await db.close()


async def test_a_long_answer_cancelled_midway_is_not_handed_on(url: str, admin: Any) -> None:
    db = await PostgresDatabase.open(url, min_size=1, max_size=1)

    def big() -> Tx[int]:
        rows = (
            yield fetch_all("SELECT repeat('x', 1000) AS x FROM generate_series(1, 200000)")
        ).rows
        return len(rows)

    def counting() -> Tx[int]:
        rows = (yield fetch_all("SELECT n FROM generate_series(1, 5) n")).rows
        return len(rows)

    try:
        for delay in (0.001, 0.01, 0.05):
            task = asyncio.create_task(db.read(big))
            await asyncio.sleep(delay)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.wait_for(db.read(counting), 10) == 5
        await _settled(db._pool)
        assert db._pool.size == db._pool.free == 1
        assert len(await server_sessions(admin)) == 1
    finally:
        await db.close()


# --- opening ----------------------------------------------------------------------------------


async def test_an_open_cancelled_halfway_leaves_no_session(url: str, admin: Any) -> None:
    delays = iter([0.0, 0.0, 0.5])

    async def connect() -> Any:
        await asyncio.sleep(next(delays))
        return await asyncpg.connect(url)

    opening = asyncio.create_task(Pool.open(connect, min_size=3, max_size=3))
    for _ in range(100):  # two connections opened, the third on its way
        if len(await server_sessions(admin)) == 2:
            break
        await asyncio.sleep(0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        del opening
        gc.collect()
    # closed by the pool, not left to the collector (asyncpg's __del__ warns, then terminates)
    assert not [w for w in caught if "unclosed connection" in str(w.message)]
    await _no_sessions_left(admin)


async def test_an_open_whose_connect_fails_leaves_no_session(url: str, admin: Any) -> None:
    attempts = 0

    async def connect() -> Any:
        nonlocal attempts
        attempts += 1
        if attempts == 2:
            await asyncio.sleep(0.05)  # fails after the others opened
            raise ConnectionRefusedError("refused")
        return await asyncpg.connect(url)

    with pytest.raises(ConnectionRefusedError):
        await Pool.open(connect, min_size=3, max_size=3)
    await _no_sessions_left(admin)


# --- errors the server reports at COMMIT ------------------------------------------------------


@pytest.mark.parametrize("alone", [False, True], ids=["transaction", "alone"])
async def test_a_unique_violation_at_commit_or_alone_keeps_a_clean_connection(
    url: str, admin: Any, alone: bool
) -> None:
    db = await PostgresDatabase.open(url, min_size=1, max_size=1)

    def create() -> Tx[None]:
        yield execute(
            "CREATE TABLE d (n INT, CONSTRAINT d_n UNIQUE (n) DEFERRABLE INITIALLY DEFERRED)"
        )
        yield execute("INSERT INTO d VALUES (1)")

    def clash() -> Tx[None]:
        if alone:
            yield fetch_one("INSERT INTO d VALUES (2), (1) RETURNING n", alone=True)
        else:
            yield execute("INSERT INTO d VALUES (2)")
            yield execute("INSERT INTO d VALUES (1)")  # refused only at COMMIT

    def count() -> Tx[int]:
        row = (yield fetch_one("SELECT count(*) AS n FROM d")).first
        assert row is not None
        return int(row["n"])

    try:
        await db.write(create)
        before = await db.read(_checked_read)
        with pytest.raises(DuplicateKey):
            await db.write(clash)
        assert db._pool.free == 1  # the server's answer, read to its end: kept
        assert await db.read(_checked_read) == before
        assert await db.read(count) == 1  # nothing of the clashing unit
        sessions = await server_sessions(admin)
        assert [s["state"] for s in sessions] == ["idle"]
    finally:
        await db.close()


async def test_every_close_returns_only_once_the_connections_are_closed(
    url: str, admin: Any
) -> None:
    """Two parts of a shutdown each closing the database: neither returns with the free
    connections still open (the process may end right after)."""
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=3, max_size=3)
    first = asyncio.create_task(pool.close())
    second = asyncio.create_task(pool.close())
    await asyncio.wait_for(second, 10)
    assert pool.size == 0 and not pool._retiring  # all closed when close() returned
    assert not await server_sessions(admin)
    await asyncio.wait_for(first, 10)
    assert pool.size == 0


def _interrupted_in_own_loop(url: str) -> None:
    """A real KeyboardInterrupt from a unit: asyncio lets it out of the event loop, so it runs
    on a loop of its own (in a thread: pytest's loop, and pytest, never see it)."""

    def unit() -> Tx[None]:
        yield execute("INSERT INTO ledger (unit, k) VALUES (99, 0)")
        yield fetch_one("SELECT 1")
        raise KeyboardInterrupt

    async def main() -> None:
        db = await PostgresDatabase.open(url, migrate=False, min_size=1, max_size=1)
        await db.write(unit)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())


async def test_a_unit_raising_keyboard_interrupt_commits_nothing_and_leaves_no_session(
    url: str, admin: Any
) -> None:
    db = await PostgresDatabase.open(url, min_size=0, max_size=1)
    await db.write(_create_tables)
    await db.close()
    await asyncio.wait_for(asyncio.to_thread(_interrupted_in_own_loop, url), 30)
    await _no_sessions_left(admin)
    assert 99 not in await _ledger(admin)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_close_at_a_random_moment_of_a_busy_pool(url: str, admin: Any, seed: int) -> None:
    """Units reading and writing, connects in flight, waiters queued, backends killed, and then
    ``close()``: every unit ends (done, or refused with ``StorageError``), nothing hangs, no
    session stays, and every unit's rows are there whole or not at all."""
    rng = random.Random(seed)
    db = PostgresDatabase(Pool(_slow_connect(url, rng, 0.02), max_size=4))
    await db.write(_create_tables)

    def unit(number: int) -> Callable[[], Tx[None]]:
        def run() -> Tx[None]:
            for k in range(3):
                yield execute("INSERT INTO ledger (unit, k) VALUES (?, ?)", number, k)
                yield execute("SELECT pg_sleep(?)", rng.choice([0, 0.002, 0.01]))

        return run

    async def run(number: int) -> str:
        await asyncio.sleep(rng.random() * 0.3)
        try:
            await db.write(unit(number))
        except StorageError:
            return "failed"
        return "ok"

    async def kill() -> None:
        while True:
            sessions = await server_sessions(admin)
            if sessions and rng.random() < 0.1:
                await admin.fetchval("SELECT pg_terminate_backend($1)", rng.choice(sessions)["pid"])
            await asyncio.sleep(0.005)

    killer = asyncio.create_task(kill())
    tasks = [asyncio.create_task(run(n)) for n in range(150)]
    await asyncio.sleep(0.05 + rng.random() * 0.25)
    await asyncio.wait_for(db.close(), 10)
    try:
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks), 30)
    finally:
        killer.cancel()
        await asyncio.gather(killer, return_exceptions=True)
    await _settled(db._pool)
    assert db._pool.size == 0 and not db._pool._free and not db._pool._waiters
    await _no_sessions_left(admin)
    ledger = await _ledger(admin)
    for number, ks in ledger.items():
        assert ks == [0, 1, 2], (number, ks)
    for number, outcome in enumerate(outcomes):
        if outcome == "ok":
            assert number in ledger


async def test_an_open_cancelled_during_its_migration_leaves_no_session(
    url: str, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []  # held here, so the collector cannot close them in the pool's stead
    real_connect = asyncpg.connect

    async def connect(*args: Any, **kwargs: Any) -> Any:
        conn = await real_connect(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(asyncpg, "connect", connect)
    migrating = asyncio.Event()
    real_migrate = PostgresDatabase.migrate

    async def migrate(self: PostgresDatabase) -> None:
        migrating.set()
        await real_migrate(self)

    monkeypatch.setattr(PostgresDatabase, "migrate", migrate)
    opening = asyncio.create_task(PostgresDatabase.open(url, min_size=3, max_size=3))
    await asyncio.wait_for(migrating.wait(), 10)
    await asyncio.sleep(0.005)  # its first statements sent
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    assert len(opened) == 3
    for _ in range(100):
        await asyncio.sleep(0.01)
        if all(conn.is_closed() for conn in opened):
            break
    assert all(conn.is_closed() for conn in opened), [c.is_closed() for c in opened]
    await _no_sessions_left(admin)


async def test_connections_killed_while_idle_fail_at_most_their_next_unit_cleanly(
    url: str, admin: Any
) -> None:
    """The server ends idle sessions (a failover, an operator). In the ~1 ms before the client
    reads the end of stream, the pool cannot tell (asyncpg shows no state for it): a unit handed
    one then fails, with ``StorageError`` (asyncpg raised ConnectionDoesNotExistError or, the
    goodbye read, InternalClientError "another operation is in progress"), never with a raw
    asyncpg error, and the next unit gets a new one. Once the end was read, none is handed out."""
    db = await PostgresDatabase.open(url, min_size=1, max_size=1)
    outcomes: list[str] = []
    causes: set[str] = set()
    try:
        for _ in range(40):
            pid = await db.read(_checked_read)
            await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            if len(outcomes) % 2:  # else at once: the backend may not even have died yet
                await until_gone(admin, pid)
                await asyncio.sleep(0.02)  # and its end of stream read (~1.3 ms after the kill)
            try:
                assert await db.read(_checked_read) != pid
            except StorageError as exc:
                outcomes.append("failed")
                causes.add(type(exc.__cause__).__name__)
            else:
                outcomes.append("replaced")
        assert set(outcomes[1::2]) == {"replaced"}  # one known closed is never handed out
        assert isinstance(await db.read(_checked_read), int)
        await _settled(db._pool)
        assert db._pool.size == 1
    finally:
        await db.close()
    # the faults of a dead session, nothing else
    assert causes <= {"ConnectionDoesNotExistError", "InternalClientError", "AdminShutdownError"}


@pytest.mark.parametrize("freed", ["connection", "slot"])
async def test_a_hand_over_passes_down_a_line_of_cancelled_waiters(url: str, freed: str) -> None:
    """A release hands the first waiter what it freed; that waiter and the next are cancelled
    before either runs: it reaches the third, and nothing is lost or given twice."""
    pool = await Pool.open(partial(asyncpg.connect, url), min_size=1, max_size=1)
    try:
        held = await pool.acquire()
        waiters = [asyncio.create_task(pool.acquire()) for _ in range(4)]
        await asyncio.sleep(0)
        if freed == "connection":
            pool.release(held)
        else:
            held.terminate()
            pool.release(held, OSError("lost"))
        waiters[0].cancel()  # handed it, cancelled before it runs
        waiters[1].cancel()  # still waiting, cancelled
        results = await asyncio.gather(*waiters[:2], return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        conn = await asyncio.wait_for(waiters[2], 5)
        assert (conn is held) is (freed == "connection")
        assert not waiters[3].done()
        pool.release(conn)
        last = await asyncio.wait_for(waiters[3], 5)
        assert last is conn and pool.size == 1 and not pool._waiters
        pool.release(last)
        assert pool.free == 1
    finally:
        await pool.close()


@pytest.mark.parametrize("where", ["mid-statement", "waiting"])
async def test_a_unit_coroutine_closed_outside_any_task_leaks_nothing(
    url: str, admin: Any, where: str
) -> None:
    """A coroutine closed where it stands (GeneratorExit thrown in, as when a pending task is
    collected): mid-statement, its connection is dropped; waiting, it leaves the line."""
    db = await PostgresDatabase.open(url, min_size=1, max_size=1)
    pool = db._pool
    try:
        held = await pool.acquire() if where == "waiting" else None
        coro = db.read(_checked_read)
        coro.send(None)  # runs to its first real suspension: a statement, or the line
        assert len(pool._waiters) == (1 if where == "waiting" else 0)
        with contextlib.suppress(RuntimeError, GeneratorExit):
            coro.close()
        assert not pool._waiters
        if held is not None:
            pool.release(held)
        await asyncio.wait_for(_settled(pool), 10)
        assert pool.size == pool.free == (1 if where == "waiting" else 0)
        assert isinstance(await asyncio.wait_for(db.read(_checked_read), 5), int)
        assert len(await server_sessions(admin)) == 1
    finally:
        await db.close()
