"""The database seam: run units of work (``storage.sql``) against SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from jubao.storage.sql import Tx

__all__ = ["Database", "open_database"]

T = TypeVar("T")


class Database(Protocol):
    dialect: str

    async def write(self, unit: Callable[[], Tx[T]]) -> T:
        """Run ``unit`` in one write transaction; its changes commit together or not at all."""
        ...

    async def read(self, unit: Callable[[], Tx[T]]) -> T:
        """Run a read-only ``unit`` on a consistent snapshot."""
        ...

    async def close(self) -> None: ...


async def open_database(url: str, *, migrate: bool = True) -> Database:
    """``sqlite:///path/to/file.sqlite3`` or ``postgresql://user@host:port/db``."""
    if url.startswith("sqlite:///"):
        from jubao.storage.sqlite import SqliteDatabase

        return await SqliteDatabase.open(url.removeprefix("sqlite:///"), migrate=migrate)
    if url.startswith(("postgresql://", "postgres://")):
        from jubao.storage.postgres import PostgresDatabase

        return await PostgresDatabase.open(url, migrate=migrate)
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
