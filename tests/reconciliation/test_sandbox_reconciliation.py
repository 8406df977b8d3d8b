"""Issue 16, "Done when": in the sandbox, orders are paid on both channels and one Alipay payment's
notification is dropped (and nobody asks about the order); `jubao reconcile` for today reports it
as paid at the channel only and repairs it (the order answers SUCCESS, the merchant is notified
once); a second run changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jubao.clock import system_clock
from jubao.payments import repository as payment_repo
from jubao.payments.states import OrderState
from jubao.reconciliation import days
from jubao.sandbox_payer import pay_order
from jubao.storage.sql import Tx, fetch_one
from tests.notify.support import Receiver, running_receiver
from tests.support.cli import jubao_async
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

SWIPE = "openapi.payment.order.swipe"
SCAN = "openapi.payment.order.scan"
QUERY = "openapi.payment.order.query"
REFUND = "openapi.payment.order.refund"
_codes = itertools.count(1)


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        alipay_overrides={"time_scale": 0.01},
        # nobody asks the channel about the lost payment: not a query, not the safety net
        reconcile_after_seconds=3600.0,
        pending_reconcile_seconds=3600.0,
        maintenance_interval_seconds=0.05,
        notify_schedule=(0.05, 0.05, 0.05),
    ) as running:
        yield running


def biz(sandbox: RunningSandbox, sn: str, receiver: Receiver, fee: str, **extra: Any) -> Any:
    return {
        "merchant_order_sn": sn,
        "total_fee": fee,
        "store_id": sandbox.info["store_id"],
        "call_back_url": receiver.callback_url,
        **extra,
    }


async def alipay_scan_paid(sandbox: RunningSandbox, sn: str, receiver: Receiver, fee: str) -> str:
    answer = await sandbox.call(SCAN, biz(sandbox, sn, receiver, fee, type=2))
    assert answer["result_code"] == 200, answer
    order_sn: str = answer["data"]["order_sn"]
    order = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None
    paid = await pay_order(sandbox.http, sandbox.info["simulators_url"], order, None)
    assert paid.status_code == 200, paid.text
    return order_sn


def notifications_of(order_sn: str) -> Tx[int]:
    row = (
        yield fetch_one(
            "SELECT COUNT(*) AS n FROM notifications n JOIN orders o ON o.order_id = n.order_id "
            "WHERE o.order_sn = ?",
            order_sn,
        )
    ).first
    return int(row["n"]) if row else 0


def events_of(order_sn: str) -> Tx[int]:
    row = (
        yield fetch_one(
            "SELECT COUNT(*) AS n FROM order_events e JOIN orders o ON o.order_id = e.order_id "
            "WHERE o.order_sn = ?",
            order_sn,
        )
    ).first
    return int(row["n"]) if row else 0


async def reconcile_text(sandbox: RunningSandbox, *args: str) -> str:
    """``jubao reconcile --date <today> ARGS`` as an operator types it, against the sandbox's
    database and channels (the simulators' settings in DATA_DIR/channel.env)."""
    data_dir = sandbox.settings.data_dir
    result = await jubao_async(
        *("--data-dir", str(data_dir)),
        *("--database-url", sandbox.settings.resolved_database_url),
        *("--env-file", str(data_dir / "channel.env")),
        "reconcile",
        *("--date", days.today(system_clock()).isoformat()),
        *args,
    )
    assert result.exit_code == 0, result.output
    return result.output


async def reconcile(sandbox: RunningSandbox, *args: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(await reconcile_text(sandbox, "--json", *args))
    return report


async def test_a_lost_payment_is_found_and_repaired_once(sandbox: RunningSandbox) -> None:
    async with running_receiver() as receiver:
        # Alipay: a QR payment notified as usual, a payment code paid at once, a refund
        normal = await alipay_scan_paid(sandbox, "rec-a-normal", receiver, "1.00")
        code = f"28{next(_codes):012d}0001"
        swiped = await sandbox.call(
            SWIPE, biz(sandbox, "rec-a-code", receiver, "2.50", auth_code=code)
        )
        assert swiped["result_code"] == 200, swiped

        async def both_paid() -> bool:
            for sn in ("rec-a-normal", "rec-a-code"):
                answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
                if answer["data"]["trade_state"] != "SUCCESS":
                    return False
            return True

        await eventually(both_paid)
        refunded = await sandbox.call(
            REFUND, {"merchant_order_sn": "rec-a-code", "refund_money": "0.40"}
        )
        assert refunded["result_code"] == 200, refunded
        # WeChat: a mini-program payment
        mina = await sandbox.mina("rec-w-mina", "0.30", call_back_url=receiver.callback_url)
        assert (await sandbox.pay(mina["data"]["sign_params"])).status_code == 200

        # the lost one: Alipay takes the money, its notification never reaches jubao
        dropped = await sandbox.http.post(
            "/sim/alipay/control/behaviour", json={"notifications": "drop"}
        )
        assert dropped.status_code == 200, dropped.text
        lost = await alipay_scan_paid(sandbox, "rec-a-lost", receiver, "0.70")
        await asyncio.sleep(0.3)
        order = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(lost))
        assert order is not None and order.state == OrderState.USERPAYING

        first = await reconcile(sandbox)  # every channel
        assert [run["channel"] for run in first["runs"]] == ["wechatpay", "alipay"], first
        assert [run["statement_lines"] for run in first["runs"]] == [1, 4], first
        assert first["counts"]["CHANNEL_ONLY"] == 1 and first["repaired"] == 1, first
        # Alipay's QR payment, code payment and its refund match; WeChat's payment matches
        assert first["counts"]["MATCHED"] == 4, first
        assert all(
            n == 0 for kind, n in first["counts"].items() if kind not in ("MATCHED", "CHANNEL_ONLY")
        ), first
        [difference] = first["differences"]
        assert difference["kind"] == "CHANNEL_ONLY" and difference["order_sn"] == lost
        assert difference["channel_fen"] == 70 and difference["resolved"] is True
        assert normal != lost

        answer = await sandbox.call(QUERY, {"merchant_order_sn": "rec-a-lost"})
        assert answer["data"]["trade_state"] == "SUCCESS", answer

        def notified() -> list[Any]:
            return [h for h in receiver.hits if h.data.get("merchant_order_sn") == "rec-a-lost"]

        async def was_notified() -> bool:
            return bool(notified())

        await eventually(was_notified)
        assert notified()[0].data["trade_state"] == "SUCCESS"
        events = await sandbox.runtime.db.read(lambda: events_of(lost))

        second = await reconcile(sandbox)
        assert second["counts"]["CHANNEL_ONLY"] == 0 and second["repaired"] == 0, second
        assert second["counts"]["MATCHED"] == 5 and second["differences"] == [], second
        wechat_only = await reconcile(sandbox, "--channel", "wechatpay")
        assert [run["channel"] for run in wechat_only["runs"]] == ["wechatpay"]
        assert wechat_only["counts"]["MATCHED"] == 1, wechat_only
        text = await reconcile_text(sandbox, "--channel", "alipay")
        assert "alipay: run" in text and "DONE" in text and "statement lines 4" in text
        assert re.search(r"paid at the channel only\s+0\n", text), text
        assert re.search(r"matched\s+4\n", text), text
        await asyncio.sleep(0.5)  # a second notification would have been sent by now
        assert len(notified()) == 1
        assert await sandbox.runtime.db.read(lambda: notifications_of(lost)) == 1
        assert await sandbox.runtime.db.read(lambda: events_of(lost)) == events
