"""Units of work as plain generators: they yield SQL and receive results.

A unit of work is written once, as a pure generator over ``Query``/``Result`` values, and a driver
runs it: the SQLite driver on its writer thread (many units share one commit), the PostgreSQL driver
on a pooled asyncpg connection. SQL uses ``?`` placeholders; the PostgreSQL driver numbers them.

    def rename(store_id: int, name: str) -> Tx[bool]:
        result = yield execute("UPDATE stores SET name = ? WHERE store_id = ?", name, store_id)
        return result.rowcount == 1

A writing unit is one transaction, unless its first statement is marked ``alone``: a statement
complete by itself (on PostgreSQL, a writable ``WITH`` that writes an order and its event at once),
which the PostgreSQL driver then runs without ``BEGIN``/``COMMIT``, two round trips fewer. What such
a unit yields after it may only read (``SELECT``). The SQLite driver ignores the mark: its units
share one commit anyway.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

__all__ = ["Query", "Result", "Row", "Tx", "execute", "fetch_all", "fetch_one"]

T = TypeVar("T")
Row = dict[str, Any]
Mode = Literal["execute", "one", "all"]


class Query(NamedTuple):  # a tuple: built per statement, in one call
    sql: str
    params: tuple[Any, ...]
    mode: Mode
    alone: bool = False


@dataclass(slots=True)
class Result:
    rows: list[Row] = field(default_factory=list)
    rowcount: int = 0

    @property
    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None


Tx = Generator[Query, Result, T]


def execute(sql: str, *params: Any) -> Query:
    return Query(sql, params, "execute")


def fetch_one(sql: str, *params: Any, alone: bool = False) -> Query:
    return Query(sql, params, "one", alone)


def fetch_all(sql: str, *params: Any) -> Query:
    return Query(sql, params, "all")
