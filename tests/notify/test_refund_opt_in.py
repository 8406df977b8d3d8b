"""Refund notifications to call_back_url are opt-in per app (Fubei 1.0 sends none): off for new
apps, switched by ``jubao app set-refund-notifications``; payment notifications are unaffected."""

from __future__ import annotations

from pathlib import Path

from jubao.merchants import repository as merchant_repo
from jubao.payments import repository as payment_repo
from jubao.payments.states import RefundState
from jubao.payments.views import refund_view
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Row, Tx, fetch_all
from tests.notify.support import Shop, now_ms, open_shop
from tests.support.cli import jubao_async


def refund_notifications() -> Tx[list[Row]]:
    return (yield fetch_all("SELECT * FROM notifications WHERE kind = 'REFUND'")).rows


async def refund_once(db: Database, shop: Shop, index: int) -> None:
    """Pay an order, then refund it to SUCCESS through the real units of work."""
    await shop.paid_order("http://127.0.0.1:9/notify", total_fen=100)
    order_sn = f"2024010112000{shop.counter:07d}"
    order = await db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None
    _, refund = await db.write(
        lambda: payment_repo.reserve_refund(order.order_id, f"R{index}", f"MR{index}", 100, 1)
    )
    assert refund is not None
    facts = payment_repo.RefundFacts(refund.refund_sn, RefundState.SUCCESS, "wx-r")
    await db.write(lambda: payment_repo.settle_refund(facts, now_ms(), refund_view))


async def test_new_apps_get_no_refund_notifications_until_they_opt_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jubao.sqlite3'}"
    db = await open_database(url)
    try:
        shop = await open_shop(db)
        await refund_once(db, shop, 1)
        assert await db.read(refund_notifications) == []

        switched = await jubao_async(
            "--database-url", url, "app", "set-refund-notifications", shop.app_id, "on",
            env={"JUBAO_ALLOW_PLAINTEXT_SECRETS": "true"},
        )  # fmt: skip
        assert switched.exit_code == 0, switched.output
        assert "refund notifications on" in switched.output
        await refund_once(db, shop, 2)
        rows = await db.read(refund_notifications)
        assert len(rows) == 1 and '"refund_sn":"R2"' in rows[0]["payload"]

        assert await db.write(lambda: merchant_repo.set_refund_notify(shop.app_id, False))
        await refund_once(db, shop, 3)
        assert len(await db.read(refund_notifications)) == 1
    finally:
        await db.close()


async def test_switching_an_unknown_app_fails_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jubao.sqlite3'}"
    result = await jubao_async(
        "--database-url", url, "app", "set-refund-notifications", "nope", "on",
        env={"JUBAO_ALLOW_PLAINTEXT_SECRETS": "true"},
    )  # fmt: skip
    assert result.exit_code != 0 and "no app nope" in result.output
