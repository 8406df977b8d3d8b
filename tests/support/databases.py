"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("JUBAO_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


async def postgres_available() -> bool:
    try:
        conn = await asyncpg.connect(postgres_admin_url(), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'jubao.sqlite3'}"
        return
    if not await postgres_available():
        if os.environ.get("JUBAO_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but not reachable at {postgres_admin_url()}")
        pytest.skip(f"PostgreSQL not reachable at {postgres_admin_url()}: skipping its run")
    name = f"jubao_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(postgres_admin_url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(postgres_admin_url(), name)
    finally:
        admin = await asyncpg.connect(postgres_admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
