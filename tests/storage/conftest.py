"""What the pool's tests share: a fresh PostgreSQL database, a connection outside every pool to
look at (and kill) the pool's sessions, and waits on what the server shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tests.support.databases import fresh_database


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql", tmp_path) as fresh:
        yield fresh


@pytest.fixture
async def admin(url: str) -> AsyncIterator[Any]:
    """A connection of its own, outside every pool: to look at and kill the pool's sessions."""
    conn = await asyncpg.connect(url)
    yield conn
    await conn.close()


async def server_sessions(admin: Any) -> list[dict[str, Any]]:
    """The other client sessions on this test's database, with what each is doing."""
    rows = await admin.fetch(
        "SELECT pid, state, query FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )
    return [dict(row) for row in rows]


async def until_gone(admin: Any, pid: int) -> None:
    for _ in range(300):
        if pid not in {s["pid"] for s in await server_sessions(admin)}:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} still there")
