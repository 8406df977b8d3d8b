"""The order's two hot writes (created, then its payment instruction) each commit with their
event. On PostgreSQL each is one statement run without ``BEGIN``/``COMMIT`` (``alone``); the
event and the row still stand or fall together."""

from __future__ import annotations

import pytest

from jubao.errors import StorageError
from jubao.kinds import ChannelName, Scene
from jubao.merchants import repository as merchant_repo
from jubao.payments import repository as repo
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Tx, execute, fetch_all, fetch_one


async def _new_order(db: Database, merchant_order_sn: str = "mo-1") -> repo.NewOrder:
    merchant = await db.write(lambda: merchant_repo.insert_merchant("m", "s", "a", 0))
    store = await db.write(lambda: merchant_repo.insert_store(merchant.merchant_id, "s", 0))
    return repo.NewOrder(
        order_sn="20240101000000000001", merchant_id=merchant.merchant_id, app_id="a",
        merchant_order_sn=merchant_order_sn, fingerprint="f", store_id=store.store_id,
        cashier_id=0, channel=ChannelName.WECHATPAY, scene=Scene.MINA, channel_merchant_id="s",
        channel_app_id="a", payer_id="o", total_fen=300, body=None, attach=None,
        call_back_url=None, expire_at=10**13,
    )  # fmt: skip


def _events(order_id: int) -> Tx[list[tuple[str, str]]]:
    rows = yield fetch_all(
        "SELECT kind, detail FROM order_events WHERE order_id = ? ORDER BY event_id", order_id
    )
    return [(row["kind"], row["detail"]) for row in rows.rows]


async def test_each_write_commits_with_its_event(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        new = await _new_order(db)
        created = await db.write(lambda: repo.insert_order(new, 5, db.dialect))
        assert created is not None
        order, fresh = created
        assert fresh and order.order_sn == new.order_sn and order.total_fen == 300
        again = await db.write(lambda: repo.insert_order(new, 6, db.dialect))
        assert again is not None and again[1] is False and again[0].order_id == order.order_id

        stored = await db.write(
            lambda: repo.store_instruction(order.order_id, None, "wx1", 99, "{}", 7, db.dialect)
        )
        assert (stored.prepay_id, stored.prepay_expires_at, stored.updated_at) == ("wx1", 99, 7)
        # a second request's compare-and-set loses and answers the stored order, with no event
        lost = await db.write(
            lambda: repo.store_instruction(order.order_id, None, "wx2", 99, "{}", 8, db.dialect)
        )
        assert lost.prepay_id == "wx1"
        events = await db.read(lambda: _events(order.order_id))
        assert events == [("CREATED", "300 分"), ("PREPAY", "wx1")]
    finally:
        await db.close()


async def test_postgres_statement_stands_or_falls_with_its_event(database_url: str) -> None:
    db = await open_database(database_url)
    if db.dialect != "postgresql":
        await db.close()
        pytest.skip("the single-statement writes are PostgreSQL's")
    try:
        new = await _new_order(db)

        def refuse_events() -> Tx[None]:
            yield execute(
                "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no events'; END $$"
            )
            yield execute(
                "CREATE TRIGGER refuse_event BEFORE INSERT ON order_events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_event()"
            )

        await db.write(refuse_events)
        with pytest.raises(StorageError):
            await db.write(lambda: repo.insert_order(new, 5, db.dialect))
        assert await db.read(lambda: repo.find_order_by_sn(new.order_sn)) is None

        # a unit begun alone may only read after: a write could not join its commit
        def writes_after_alone() -> Tx[None]:
            yield fetch_one("SELECT 1 AS one", alone=True)
            yield execute("DROP TRIGGER refuse_event ON order_events")

        with pytest.raises(StorageError, match="只能读取"):
            await db.write(writes_after_alone)
    finally:
        await db.close()
