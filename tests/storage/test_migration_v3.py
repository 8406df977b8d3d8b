"""Migration 0003 (channels and scenes) takes a first-release database, with its orders, refunds
and notifications, to the new schema: the old orders are then queried, replayed, refunded and
notified through the gateway exactly as before, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.console.support import FakeChannel
from tests.notify.support import Receiver, fast_settings, running_receiver, settle
from tests.support import fubei

from jubao.config import Settings
from jubao.notify.dispatcher import Dispatcher
from jubao.runtime import Runtime, build_runtime
from jubao.storage.migrations import CREATE_LEDGER, load_migrations
from jubao.storage.sql import Row, Tx, fetch_all
from jubao.web.app import create_app

APP_ID = "20240101000000000001"
SECRET = "0123456789abcdef0123456789abcdef"
SIGN_PARAMS = {
    "appId": "wxsub0000000001",
    "timeStamp": "1700000000",
    "nonceStr": "n0nce",
    "package": "prepay_id=wx-old-unpaid",
    "signType": "RSA",
    "paySign": "c2lnbmF0dXJl",
}


def _release_one_statements(dialect: str, callback_url: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The first release's schema (migrations 1 and 2) and a day of its data, in its columns."""
    now = int(time.time() * 1000)
    statements: list[tuple[str, tuple[Any, ...]]] = [(CREATE_LEDGER, ())]
    for migration in load_migrations():
        if migration.version <= 2:
            statements += [(sql, ()) for sql in migration.statements(dialect)]
            statements.append(
                (
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, now),
                )
            )
    order_columns = (
        "order_sn, merchant_id, app_id, merchant_order_sn, fingerprint, store_id, cashier_id, "
        "sub_mchid, sub_appid, sub_openid, total_fen, body, attach, call_back_url, state, "
        "prepay_id, prepay_expires_at, sign_params, platform_order_no, user_id, paid_at, "
        "refunded_fen, refund_count, expire_at, created_at, updated_at"
    )
    marks = ", ".join("?" * 26)
    fingerprint = "\x1f".join(["oPayerOld", "1000", "1", "0", "", "咖啡", ""])
    statements += [
        (
            "INSERT INTO merchants (merchant_id, name, sub_mchid, sub_appid, created_at) "
            "VALUES (1, '老商户', '1900000109', 'wxsub0000000001', ?)",
            (now,),
        ),
        (
            "INSERT INTO apps (app_id, merchant_id, app_secret, callback_url, created_at) "
            "VALUES (?, 1, ?, ?, ?)",
            (APP_ID, SECRET, callback_url, now),
        ),
        (
            "INSERT INTO stores (store_id, merchant_id, name, created_at) VALUES (1, 1, 's', ?)",
            (now,),
        ),
        (
            f"INSERT INTO orders (order_id, {order_columns}) VALUES (1, {marks})",
            (
                "20240101000000000101",
                1,
                APP_ID,
                "old-paid",
                "f-paid",
                1,
                0,
                "1900000109",
                "wxsub0000000001",
                "oPayerOld",
                500,
                "旧订单",
                "a=1",
                None,
                "SUCCESS",
                "wx-old-paid",
                now + 3_600_000,
                json.dumps({"appId": "x"}),
                "4200000001",
                "oPaidBy",
                now - 60_000,
                100,
                1,
                now + 3_600_000,
                now - 120_000,
                now - 60_000,
            ),
        ),
        (
            f"INSERT INTO orders (order_id, {order_columns}) VALUES (2, {marks})",
            (
                "20240101000000000102",
                1,
                APP_ID,
                "old-unpaid",
                fingerprint,
                1,
                0,
                "1900000109",
                "wxsub0000000001",
                "oPayerOld",
                1000,
                "咖啡",
                None,
                None,
                "USERPAYING",
                "wx-old-unpaid",
                now + 3_600_000,
                json.dumps(SIGN_PARAMS),
                None,
                None,
                None,
                0,
                0,
                now + 3_600_000,
                now - 10_000,
                now,
            ),
        ),
        (
            "INSERT INTO refunds (refund_sn, order_id, merchant_refund_sn, refund_fen, status, "
            "channel_refund_id, submitted, finished_at, created_at, updated_at) "
            "VALUES ('20240101000000000201', 1, 'mr-old', 100, 'SUCCESS', 'r1', 1, ?, ?, ?)",
            (now, now, now),
        ),
        (
            "INSERT INTO notifications (order_id, app_id, kind, url, payload, status, attempts, "
            "next_attempt_at, delivered_at, created_at, updated_at) "
            "VALUES (1, ?, 'PAYMENT', ?, '{\"order_sn\":\"20240101000000000101\"}', "
            "'DELIVERED', 1, ?, ?, ?, ?)",
            (APP_ID, callback_url, now, now, now, now),
        ),
    ]
    return statements


async def _build_release_one(database_url: str, callback_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            for sql, params in _release_one_statements("sqlite", callback_url):
                conn.execute(sql, params)
            conn.commit()
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(database_url)
    try:
        for sql, params in _release_one_statements("postgresql", callback_url):
            numbered = sql
            for index in range(1, len(params) + 1):
                numbered = numbered.replace("?", f"${index}", 1)
            await pg.execute(numbered, *params)
        # explicit ids above: move the identity sequences past them, as a live database would be
        for table, column in (("merchants", "merchant_id"), ("stores", "store_id"),
                              ("orders", "order_id")):  # fmt: skip
            await pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), 100)")
    finally:
        await pg.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def migrated(database_url: str, receiver: Receiver, tmp_path: Path) -> AsyncIterator[Runtime]:
    await _build_release_one(database_url, receiver.callback_url)
    settings = Settings.from_env(env={}, data_dir=tmp_path, database_url=database_url)
    runtime = await build_runtime(settings, FakeChannel(), maintenance=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


async def _call(runtime: Runtime, method: str, biz: dict[str, Any]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://jubao") as client:
        answer = await client.post("/gateway", content=fubei.body(APP_ID, SECRET, method, biz))
    result: dict[str, Any] = answer.json()
    return result


async def test_old_orders_survive_the_migration(migrated: Runtime, receiver: Receiver) -> None:
    paid = await _call(migrated, "openapi.payment.order.query", {"merchant_order_sn": "old-paid"})
    assert paid["result_code"] == 200, paid
    assert paid["data"]["trade_state"] == "SUCCESS"
    assert paid["data"]["platform_order_no"] == "4200000001"
    assert paid["data"]["user_id"] == "oPaidBy"  # the payer reported at payment wins
    assert paid["data"]["type"] == 1

    stats = await _call(
        migrated, "openapi.payment.refund.statistics", {"merchant_order_sn": "old-paid"}
    )
    assert stats["data"]["refund_num"] == 1 and stats["data"]["can_refund"] == 4

    old_refund = await _call(
        migrated,
        "openapi.payment.order.refund.query",
        {"merchant_order_sn": "old-paid", "merchant_refund_sn": "mr-old"},
    )
    assert old_refund["data"]["refund_status"] == "REFUND_SUCCESS"


async def test_an_old_unpaid_order_replays_its_stored_package(migrated: Runtime) -> None:
    retry = await _call(
        migrated,
        "openapi.payment.order.mina",
        {"merchant_order_sn": "old-unpaid", "sub_openid": "oPayerOld", "total_fee": "10.00",
         "store_id": 1, "body": "咖啡"},
    )  # fmt: skip
    assert retry["result_code"] == 200, retry
    assert retry["data"]["order_sn"] == "20240101000000000102"
    assert retry["data"]["prepay_id"] == "wx-old-unpaid"
    assert retry["data"]["sign_params"] == SIGN_PARAMS


async def test_old_orders_refund_and_notify_after_the_migration(
    migrated: Runtime, receiver: Receiver
) -> None:
    refund = await _call(
        migrated,
        "openapi.payment.order.refund",
        {"merchant_order_sn": "old-paid", "merchant_refund_sn": "mr-new", "refund_money": "1.50"},
    )
    assert refund["result_code"] == 200, refund
    assert refund["data"]["refund_status"] == "REFUND_SUCCESS"

    # apps of the first release keep their refund notifications (opt-in only for new apps)
    rows = await migrated.db.read(_refund_notifications)
    assert len(rows) == 1
    dispatcher = Dispatcher(migrated.db, fast_settings())
    delivered = await settle(dispatcher.run_once, migrated.db, int(rows[0]["notification_id"]))
    assert delivered["status"] == "DELIVERED"
    data = receiver.hits[-1].data
    assert data["merchant_order_sn"] == "old-paid" and data["refund_money"] == 1.5

    after = await _call(migrated, "openapi.payment.order.query", {"merchant_order_sn": "old-paid"})
    assert after["data"]["trade_state"] == "SUCCESS"


def _refund_notifications() -> Tx[list[Row]]:
    return (yield fetch_all("SELECT * FROM notifications WHERE kind = 'REFUND' ORDER BY 1")).rows
