"""Trying to break the PostgreSQL driver's pool (``storage.pgpool``) against a real server:
cancellation at each await point, the server killing sessions, failing connects, ``close()`` in
the middle of everything, units raising what they should not, and all of it at once. Each test
checks what the pool promises: no slot leaked, never more than ``max_size`` sessions on the
server, no connection handed on with a transaction or a half-read answer, and each unit of work
committed whole or not at all."""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tests.support.databases import fresh_database

from jubao.errors import DuplicateKey, StorageError
from jubao.storage.pgpool import Pool
from jubao.storage.postgres import PostgresDatabase
from jubao.storage.sql import Tx, execute, fetch_one

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql", tmp_path) as fresh:
        yield fresh


@pytest.fixture
async def admin(url: str) -> AsyncIterator[Any]:
    conn = await asyncpg.connect(url)
    yield conn
    await conn.close()


async def _sessions(admin: Any) -> list[dict[str, Any]]:
    rows = await admin.fetch(
        "SELECT pid, state, query FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )
    return [dict(row) for row in rows]


async def _settled(pool: Pool) -> None:
    """Wait (bounded) until the pool's background closes are done and nothing is in flight."""
    for _ in range(500):
        await asyncio.gather(*pool._retiring, return_exceptions=True)
        if not pool._retiring:
            return
    raise AssertionError("retiring never ends")


async def _no_sessions_left(admin: Any) -> None:
    for _ in range(300):
        if not await _sessions(admin):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"sessions left on the server: {await _sessions(admin)}")


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
    rng = random.Random(20261130)
    db = await PostgresDatabase.open(url, min_size=1, max_size=max_size)
    pool = db._pool
    await db.write(_create_tables)

    def write_unit(number: int, pause: float, duplicate: bool) -> Callable[[], Tx[None]]:
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
            sessions = await _sessions(admin)
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
    assert len(await _sessions(admin)) == len(alive)
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
