"""The SQLite driver: group commit keeps each unit atomic on its own."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from jubao.errors import DuplicateKey
from jubao.storage.database import open_database
from jubao.storage.sql import Tx, execute, fetch_all, fetch_one


def add_merchant(name: str) -> Tx[int]:
    row = (
        yield fetch_one(
            "INSERT INTO merchants (name, created_at) VALUES (?, 0) RETURNING merchant_id",
            name,
        )
    ).first
    assert row is not None
    return int(row["merchant_id"])


def add_then_fail(name: str) -> Tx[None]:
    yield execute(
        "INSERT INTO merchants (name, created_at) VALUES (?, 0)",
        name,
    )
    raise RuntimeError("unit failed after writing")


def names() -> Tx[list[Any]]:
    return [row["name"] for row in (yield fetch_all("SELECT name FROM merchants ORDER BY 1")).rows]


async def test_failing_unit_rolls_back_alone_within_a_batch(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    try:
        results = await asyncio.gather(
            *(db.write(partial(add_merchant, f"ok-{i:03d}")) for i in range(100)),
            db.write(lambda: add_then_fail("bad")),
            return_exceptions=True,
        )
        assert isinstance(results[-1], RuntimeError)
        assert all(isinstance(result, int) for result in results[:-1])
        stored = await db.read(names)
        assert "bad" not in stored
        assert len(stored) == 100
    finally:
        await db.close()


async def test_unique_violation_is_duplicate_key_and_data_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    db = await open_database(url)

    def add_app(app_id: str) -> Tx[None]:
        yield execute(
            "INSERT INTO apps (app_id, merchant_id, app_secret, created_at) VALUES (?, ?, 's', 0)",
            app_id,
            merchant_id,
        )

    merchant_id = await db.write(lambda: add_merchant("m"))
    await db.write(lambda: add_app("20240101000000000001"))
    with pytest.raises(DuplicateKey):
        await db.write(lambda: add_app("20240101000000000001"))
    await db.close()
    reopened = await open_database(url)
    try:
        assert await reopened.read(names) == ["m"]
    finally:
        await reopened.close()
