"""A merchant's default store (where a 2.0 order that names no store is taken) is cached like
apps: another instance's new store shows within the cache window, this instance's at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jubao.merchants.directory import MerchantDirectory
from jubao.storage.database import Database, open_database

WINDOW_MS = 5_000  # directory._CACHE_MS


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    opened = await open_database(database_url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_another_instances_store_shows_once_the_window_has_passed(db: Database) -> None:
    clock = Clock()
    here, elsewhere = MerchantDirectory(db, clock), MerchantDirectory(db)
    merchant = await here.create_merchant("咖啡馆", "1900000001", "wx0000000000000001")
    assert await here.default_store(merchant.merchant_id) is None
    first = await elsewhere.create_store(merchant.merchant_id, "一号店")
    clock.now += WINDOW_MS - 1
    assert await here.default_store(merchant.merchant_id) is None  # the miss, not re-read
    clock.now += 1
    assert await here.default_store(merchant.merchant_id) == first
    await elsewhere.create_store(merchant.merchant_id, "二号店")
    clock.now += WINDOW_MS
    assert await here.default_store(merchant.merchant_id) == first  # the first stays the default


async def test_a_store_created_here_ends_a_cached_miss_at_once(db: Database) -> None:
    here = MerchantDirectory(db, Clock())
    merchant = await here.create_merchant("面馆", "1900000002", "wx0000000000000002")
    assert await here.default_store(merchant.merchant_id) is None
    first = await here.create_store(merchant.merchant_id, "一号店")
    assert await here.default_store(merchant.merchant_id) == first
