"""The same units of work behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from jubao.errors import DuplicateKey, StorageError
from jubao.kinds import ChannelName, Scene
from jubao.merchants import repository as merchant_repo
from jubao.payments import repository as repo
from jubao.payments.states import RefundReservation
from jubao.payments.views import order_view
from jubao.storage.database import open_database
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one


async def test_migrations_are_idempotent_and_constraints_hold(database_url: str) -> None:
    db = await open_database(database_url)
    await db.close()
    db = await open_database(database_url)  # second start: nothing to apply, no error
    try:
        merchant = await db.write(lambda: merchant_repo.insert_merchant("m", "s", "a", 0))
        await db.write(
            lambda: merchant_repo.insert_app(
                "20240101000000000001", merchant.merchant_id, "x" * 32, None, 0
            )
        )
        with pytest.raises(DuplicateKey):
            await db.write(
                lambda: merchant_repo.insert_app(
                    "20240101000000000001", merchant.merchant_id, "y", None, 0
                )
            )
        store = await db.write(lambda: merchant_repo.insert_store(merchant.merchant_id, "s", 0))
        order = repo.NewOrder(
            order_sn="20240101000000000001", merchant_id=merchant.merchant_id,
            app_id="20240101000000000001", merchant_order_sn="mo-1", fingerprint="f",
            store_id=store.store_id, cashier_id=0, channel=ChannelName.WECHATPAY, scene=Scene.MINA,
            channel_merchant_id="s", channel_app_id="a", payer_id="o",
            total_fen=300, body=None, attach=None, call_back_url=None, expire_at=10**13,
        )  # fmt: skip
        created = await db.write(lambda: repo.insert_order(order, 0))
        assert created is not None and created[1] is True
        again = await db.write(lambda: repo.insert_order(order, 0))
        assert again is not None and again[1] is False

        def overdraw() -> Tx[None]:
            yield execute("UPDATE orders SET refunded_fen = 301 WHERE order_sn = ?", order.order_sn)

        with pytest.raises(StorageError):
            await db.write(overdraw)

        paid = repo.PaymentFacts(
            ChannelName.WECHATPAY, order.order_sn, "4200", 1, "o", 300, None, "test"
        )
        outcomes = await asyncio.gather(
            *(db.write(lambda: repo.mark_paid(paid, 1, order_view)) for _ in range(5))
        )
        assert sorted(outcome for outcome, _ in outcomes) == ["duplicate"] * 4 + ["paid"]

        results = await asyncio.gather(
            *(
                db.write(
                    partial(repo.reserve_refund, created[0].order_id, f"r{i}", f"mr{i}", 100, 2)
                )
                for i in range(8)
            )
        )
        assert sorted(outcome for outcome, _ in results).count(RefundReservation.RESERVED) == 3

        def refunded() -> Tx[int]:
            row = (
                yield fetch_one(
                    "SELECT refunded_fen FROM orders WHERE order_sn = ?", order.order_sn
                )
            ).first
            assert row is not None
            return int(row["refunded_fen"])

        assert await db.read(refunded) == 300
    finally:
        await db.close()


async def test_rows_are_dicts_alike_with_a_repeated_name_keeping_its_last_value(
    database_url: str,
) -> None:
    """Both drivers make a row a dict of its select list in order (storage/sqlite.py's row factory,
    storage/postgres.py's ``_execute``), so a name the list repeats keeps its last value."""
    db = await open_database(database_url)
    try:

        def one() -> Tx[Row | None]:
            return (yield fetch_one("SELECT 1 AS a, 'x' AS b, 2 AS a")).first

        def every() -> Tx[list[Row]]:
            rows = (
                yield fetch_all("SELECT 1 AS a, 2 AS a UNION ALL SELECT 3 AS a, 4 AS a ORDER BY 1")
            ).rows
            return rows

        def none() -> Tx[tuple[Row | None, list[Row]]]:
            first = (yield fetch_one("SELECT 1 AS a WHERE 1 = 0")).first
            rows = (yield fetch_all("SELECT 1 AS a WHERE 1 = 0")).rows
            return first, rows

        assert await db.read(one) == {"a": 2, "b": "x"}
        assert await db.read(every) == [{"a": 2}, {"a": 4}]
        assert await db.read(none) == (None, [])
    finally:
        await db.close()
