"""PostgreSQL driver: asyncpg connections in a pool of our own (``storage.pgpool``); each writing
unit of work is one transaction.

Units are the same generators the SQLite driver runs; ``?`` placeholders become ``$n``.

Round trips are the cost here (each is a wake-up of the event loop and of the server): a reading
unit runs without ``BEGIN``/``COMMIT`` (under READ COMMITTED, PostgreSQL's default, each statement
takes its own snapshot inside a transaction too, so one adds nothing), a writing unit whose first
statement is marked ``alone`` (one statement that writes all it must, ``storage.sql``) runs
without them too, and a connection goes back to the pool without a reset query (jubao sets no
session state: no ``SET``, ``LISTEN``, or advisory lock outside ``migrate``, which releases its
own). The pool hands out raw connections, without asyncpg's proxy around each, and takes back
only a connection that holds no transaction and no half-read answer. Measured in
docs/benchmarks.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache, partial
from typing import TypeVar

import asyncpg

from jubao.errors import DuplicateKey, StorageError
from jubao.storage.migrations import CREATE_LEDGER, load_migrations
from jubao.storage.pgpool import Connection, Pool
from jubao.storage.sql import Query, Result, Tx

__all__ = ["PostgresDatabase"]

T = TypeVar("T")
_MIGRATION_LOCK = 7_414_208  # pg_advisory_lock key: one migrator at a time
# what a unit may raise when the database or the session fails under it. Not only the server's
# errors and the socket's: a session killed in a transaction surfaces as asyncpg's InterfaceError
# (the rollback's "connection is closed" replaces the server's FATAL), and one killed while idle,
# whose FATAL was read but not yet its end of stream, as InternalClientError ("another operation
# is in progress") on its next statement. Any of them is StorageError (a failure envelope the
# merchant may retry), never an unexpected exception (the front's last-resort answer and a trace)
_DATABASE_TROUBLE = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


@lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    parts = sql.split("?")
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        out.append(f"${index}{part}")
    return "".join(out)


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, min_size: int = 2, max_size: int = 20
    ) -> PostgresDatabase:
        pool = await Pool.open(partial(asyncpg.connect, url), min_size=min_size, max_size=max_size)
        database = cls(pool)
        if migrate:
            try:
                await database.migrate()
            except BaseException:
                await pool.close()  # nobody else holds the pool: its connections would stay open
                raise
        return database

    async def migrate(self) -> None:
        conn = await self._pool.acquire()
        try:
            await self._migrate(conn)
        except BaseException:
            self._pool.discard(conn)  # its session may still hold the advisory lock
            raise
        self._pool.release(conn)

    async def _migrate(self, conn: Connection) -> None:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(CREATE_LEDGER)
            applied = {
                r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")
            }
            for migration in load_migrations():
                if migration.version in applied:
                    continue
                async with conn.transaction():
                    for statement in migration.statements(self.dialect):
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        int(time.time() * 1000),
                    )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)

    async def write(self, unit: Callable[[], Tx[T]]) -> T:
        return await self._run(unit, transaction=True)

    async def read(self, unit: Callable[[], Tx[T]]) -> T:
        return await self._run(unit, transaction=False)

    async def _run(self, unit: Callable[[], Tx[T]], *, transaction: bool) -> T:
        generator = unit()
        try:
            first = next(generator)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        pool = self._pool
        try:
            conn = await pool.acquire()
            try:
                if not transaction or first.alone:
                    result = await _drive(conn, generator, first, reads_after=first.alone)
                else:
                    async with conn.transaction():
                        result = await _drive(conn, generator, first)
            except BaseException as exc:
                pool.release(conn, exc)  # the pool decides: back, or terminated
                raise
            pool.release(conn)
            return result
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateKey(str(exc)) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise StorageError(f"约束检查失败：{exc}") from exc
        except _DATABASE_TROUBLE as exc:
            raise StorageError(f"数据库错误：{type(exc).__name__}") from exc

    async def close(self) -> None:
        await self._pool.close()


async def _drive(
    conn: Connection, generator: Tx[T], query: Query, *, reads_after: bool = False
) -> T:
    """Run ``generator`` from its first ``query``. ``reads_after``: it began with a statement run
    ``alone`` (outside a transaction), so what it yields next must only read."""
    try:
        while True:
            result = await _execute(conn, query)
            query = generator.send(result)
            if reads_after and query.sql.lstrip()[:6].upper() != "SELECT":
                # the first statement has committed alone: a later write could not join it
                raise StorageError("单语句写入之后只能读取（单元写法错误）")
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def _execute(conn: Connection, query: Query) -> Result:
    sql = _numbered(query.sql)
    if query.mode == "execute":
        return Result(rowcount=_rowcount(await conn.execute(sql, *query.params)))
    # a row as a dict: zip of the names with the values, a quarter cheaper than dict(record),
    # which looks each name up again
    if query.mode == "one":
        record = await conn.fetchrow(sql, *query.params)
        if record is None:
            return Result()
        return Result(rows=[dict(zip(record.keys(), record, strict=True))], rowcount=1)
    records = await conn.fetch(sql, *query.params)
    if not records:
        return Result()
    names = tuple(records[0].keys())
    return Result(rows=[dict(zip(names, r, strict=True)) for r in records], rowcount=len(records))
