"""Issue 3's acceptance: money moving through the whole life of an order, over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

from jubao.kinds import ChannelName
from jubao.storage.sql import Tx, fetch_all

QUERY = "openapi.payment.order.query"
REFUND = "openapi.payment.order.refund"
REFUND_QUERY = "openapi.payment.order.refund.query"
STATS = "openapi.payment.refund.statistics"
CLOSE = "openapi.payment.order.close"


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        simulator_overrides={"time_scale": 0.01, "refund_delay_seconds": 0.05},
        reconcile_after_seconds=0.0,
        maintenance_interval_seconds=0.05,
    ) as running:
        yield running


async def paid_order(sandbox: RunningSandbox, sn: str, fee: str) -> dict[str, Any]:
    created = await sandbox.mina(sn, fee)
    assert created["result_code"] == 200, created
    paid = await sandbox.pay(created["data"]["sign_params"])
    assert paid.status_code == 200, paid.text

    async def is_paid() -> bool:
        answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
        return bool(answer["data"]["trade_state"] == "SUCCESS")

    await eventually(is_paid)
    data: dict[str, Any] = created["data"]
    return data


def events(order_sn: str) -> Callable[[], Tx[list[str]]]:
    def unit() -> Tx[list[str]]:
        rows = (
            yield fetch_all(
                "SELECT e.kind FROM order_events e JOIN orders o ON o.order_id = e.order_id "
                "WHERE o.order_sn = ? ORDER BY e.event_id",
                order_sn,
            )
        ).rows
        return [row["kind"] for row in rows]

    return unit


async def test_pay_then_query_reports_success(sandbox: RunningSandbox) -> None:
    created = await paid_order(sandbox, "life-1", "0.05")
    answer = await sandbox.call(QUERY, {"order_sn": created["order_sn"]})
    data = answer["data"]
    assert data["trade_state"] == "SUCCESS"
    assert len(data["platform_order_no"]) == 28
    assert abs(data["pay_time"] - time.time()) < 60
    assert Decimal(str(data["total_fee"])) == Decimal("0.05")
    assert data["user_id"] == sandbox.info["demo_openid"]
    assert (await sandbox.runtime.db.read(events(created["order_sn"]))).count("PAID") == 1


async def test_partial_refunds_then_remainder(sandbox: RunningSandbox) -> None:
    created = await paid_order(sandbox, "life-refund", "0.03")
    refund_sns = []
    for biz in (
        {"refund_money": "0.01", "merchant_refund_sn": "r1"},
        {"refund_money": 0.01, "merchant_refund_sn": "r2"},
        {"merchant_refund_sn": "r3"},
    ):
        answer = await sandbox.call(REFUND, {"order_sn": created["order_sn"], **biz})
        assert answer["result_code"] == 200, answer
        refund_sns.append(answer["data"]["refund_sn"])
    stats = await sandbox.call(STATS, {"order_sn": created["order_sn"]})
    assert stats["data"]["can_refund"] == 0
    assert stats["data"]["refund_num"] == 3
    over = await sandbox.call(REFUND, {"order_sn": created["order_sn"], "refund_money": "0.01"})
    assert over["sub_code"] == "REFUND_EXCEEDS"

    async def all_settled() -> bool:
        states = [
            (await sandbox.call(REFUND_QUERY, {"order_sn": created["order_sn"], "refund_sn": sn}))[
                "data"
            ]["refund_status"]
            for sn in refund_sns
        ]
        return states == ["REFUND_SUCCESS"] * 3

    await eventually(all_settled)
    # idempotent replay by merchant_refund_sn
    replay = await sandbox.call(
        REFUND,
        {"order_sn": created["order_sn"], "refund_money": "0.01", "merchant_refund_sn": "r1"},
    )
    assert replay["data"]["refund_sn"] == refund_sns[0]


async def test_concurrent_refunds_never_exceed_paid_amount(sandbox: RunningSandbox) -> None:
    created = await paid_order(sandbox, "life-race", "0.10")
    answers = await asyncio.gather(
        *(
            sandbox.call(REFUND, {"order_sn": created["order_sn"], "refund_money": "0.03"})
            for _ in range(20)
        )
    )
    accepted = [answer for answer in answers if answer["result_code"] == 200]
    assert len(accepted) == 3
    assert {answer["sub_code"] for answer in answers if answer["result_code"] != 200} <= {
        "REFUND_EXCEEDS"
    }
    stats = await sandbox.call(STATS, {"order_sn": created["order_sn"]})
    assert Decimal(str(stats["data"]["can_refund"])) == Decimal("0.01")


async def test_close_unpaid_then_payment_fails(sandbox: RunningSandbox) -> None:
    created = await sandbox.mina("life-close", "0.02")
    closed = await sandbox.call(CLOSE, {"merchant_order_sn": "life-close"})
    assert closed["result_code"] == 200, closed
    query = await sandbox.call(QUERY, {"merchant_order_sn": "life-close"})
    assert query["data"]["trade_state"] == "CLOSED"
    attempt = await sandbox.pay(created["data"]["sign_params"])
    assert attempt.status_code >= 400
    assert (await sandbox.call(QUERY, {"merchant_order_sn": "life-close"}))["data"][
        "trade_state"
    ] == "CLOSED"
    again = await sandbox.mina("life-close", "0.02")
    assert again == created  # an identical retry replays the first answer, whatever happened since


async def test_closing_a_paid_order_says_so(sandbox: RunningSandbox) -> None:
    await paid_order(sandbox, "life-paid-close", "0.02")
    answer = await sandbox.call(CLOSE, {"merchant_order_sn": "life-paid-close"})
    assert answer["sub_code"] == "ORDER_PAID"


async def test_tampered_pay_sign_pays_nothing(sandbox: RunningSandbox) -> None:
    created = await sandbox.mina("life-tamper", "0.02")
    sign_params = dict(created["data"]["sign_params"])
    pay_sign = sign_params["paySign"]
    sign_params["paySign"] = ("A" if pay_sign[0] != "A" else "B") + pay_sign[1:]
    answer = await sandbox.pay(sign_params)
    assert answer.status_code >= 400
    wrong_payer = await sandbox.pay(created["data"]["sign_params"], openid="oSomeoneElse")
    assert wrong_payer.status_code >= 400
    await asyncio.sleep(0.2)
    query = await sandbox.call(QUERY, {"merchant_order_sn": "life-tamper"})
    assert query["data"]["trade_state"] == "USERPAYING"


async def test_refund_of_unpaid_order_refused(sandbox: RunningSandbox) -> None:
    await sandbox.mina("life-unpaid-refund", "0.02")
    answer = await sandbox.call(REFUND, {"merchant_order_sn": "life-unpaid-refund"})
    assert answer["sub_code"] == "ORDER_NOT_PAID"


@pytest.mark.slow  # waits for the expiry sweep
async def test_expired_orders_are_closed(tmp_path: Path) -> None:
    async with running_sandbox(
        tmp_path / "data", order_expire_seconds=1, maintenance_interval_seconds=0.1
    ) as sandbox:
        await sandbox.mina("life-expire", "0.02")

        async def closed() -> bool:
            answer = await sandbox.call(QUERY, {"merchant_order_sn": "life-expire"})
            return bool(answer["data"]["trade_state"] == "CLOSED")

        await eventually(closed, within=15)


async def test_dropped_notification_is_recovered_through_query(sandbox: RunningSandbox) -> None:
    sandbox.simulator.set_behaviour(notifications="drop")
    created = await sandbox.mina("life-drop", "0.02")
    assert (await sandbox.pay(created["data"]["sign_params"])).status_code == 200
    await sandbox.simulator.idle()
    # no notification reached jubao: the order is only known to be paid by asking WeChat
    answer = await sandbox.call(QUERY, {"merchant_order_sn": "life-drop"})
    assert answer["data"]["trade_state"] == "SUCCESS"
    assert answer["data"]["platform_order_no"]
    assert "PAID" in await sandbox.runtime.db.read(events(created["data"]["order_sn"]))


async def test_duplicated_notification_changes_nothing(sandbox: RunningSandbox) -> None:
    sandbox.simulator.set_behaviour(notifications="duplicate")
    created = await paid_order(sandbox, "life-dup", "0.02")
    await sandbox.simulator.idle()
    log = sandbox.simulator.notifications(created["order_sn"])
    accepted = [
        attempt
        for item in log
        if item["event_type"] == "TRANSACTION.SUCCESS"
        for attempt in item["attempts"]
        if 200 <= (attempt["status_code"] or 0) < 300
    ]
    assert len(accepted) >= 2, [item["attempts"] for item in log]  # acknowledged twice
    kinds = await sandbox.runtime.db.read(events(created["order_sn"]))
    assert kinds.count("PAID") == 1

    def outbox_rows() -> Tx[int]:
        rows = (
            yield fetch_all(
                "SELECT n.notification_id FROM notifications n JOIN orders o "
                "ON o.order_id = n.order_id WHERE o.order_sn = ? AND n.kind = 'PAYMENT'",
                created["order_sn"],
            )
        ).rows
        return len(rows)

    assert await sandbox.runtime.db.read(outbox_rows) <= 1


async def test_payment_after_local_close_is_not_lost(sandbox: RunningSandbox) -> None:
    """WeChat took the payer's money for an order jubao had closed: the order becomes paid."""
    from jubao.payments import repository as repo

    created = await sandbox.mina("life-late", "0.02")
    order = await sandbox.runtime.db.read(
        lambda: repo.find_order_by_sn(created["data"]["order_sn"])
    )
    assert order is not None
    await sandbox.runtime.db.write(lambda: repo.close_order(order.order_id, "test", 0))
    assert (await sandbox.call(QUERY, {"merchant_order_sn": "life-late"}))["data"][
        "trade_state"
    ] == "CLOSED"
    # the close never reached WeChat, so the payer can still pay there
    assert (await sandbox.pay(created["data"]["sign_params"])).status_code == 200

    async def paid() -> bool:
        answer = await sandbox.call(QUERY, {"merchant_order_sn": "life-late"})
        return bool(answer["data"]["trade_state"] == "SUCCESS")

    await eventually(paid)


async def test_refund_failure_at_the_channel_returns_the_amount(sandbox: RunningSandbox) -> None:
    created = await paid_order(sandbox, "life-refund-fail", "0.05")
    sandbox.simulator.set_behaviour(out_trade_no=created["order_sn"], refunds="fail")
    answer = await sandbox.call(REFUND, {"order_sn": created["order_sn"], "refund_money": "0.02"})
    assert answer["result_code"] == 200, answer
    refund_sn = answer["data"]["refund_sn"]

    async def failed() -> bool:
        result = await sandbox.call(
            REFUND_QUERY, {"order_sn": created["order_sn"], "refund_sn": refund_sn}
        )
        return bool(result["data"]["refund_status"] == "REFUND_FAILER")

    await eventually(failed)
    stats = await sandbox.call(STATS, {"order_sn": created["order_sn"]})
    assert Decimal(str(stats["data"]["can_refund"])) == Decimal("0.05")
    assert stats["data"]["refund_num"] == 0


@pytest.mark.slow  # waits out the interval
async def test_polling_an_unpaid_order_asks_wechat_at_most_once_per_interval(
    tmp_path: Path,
) -> None:
    async with running_sandbox(tmp_path / "data", reconcile_after_seconds=0.5) as sandbox:
        await sandbox.mina("life-poll", "0.02")
        await asyncio.sleep(0.6)  # quiet long enough to be checked
        channel_queries: list[str] = []
        channel = sandbox.runtime.channels[ChannelName.WECHATPAY]
        inner = channel.query

        async def counting_query(binding: Any, out_trade_no: str) -> Any:
            channel_queries.append(out_trade_no)
            return await inner(binding, out_trade_no)

        channel.query = counting_query  # type: ignore[method-assign]
        for _ in range(10):
            answer = await sandbox.call(QUERY, {"merchant_order_sn": "life-poll"})
            assert answer["data"]["trade_state"] == "USERPAYING"
        assert len(channel_queries) == 1
        await asyncio.sleep(0.6)
        await sandbox.call(QUERY, {"merchant_order_sn": "life-poll"})
        assert len(channel_queries) == 2


async def test_a_refund_without_merchant_refund_sn_answers_it_empty(
    sandbox: RunningSandbox,
) -> None:
    """As Fubei: jubao's own number is in refund_sn; merchant_refund_sn stays the merchant's."""
    order = await paid_order(sandbox, "life-no-mrsn", "0.05")
    refund = await sandbox.call(REFUND, {"order_sn": order["order_sn"], "refund_money": "0.01"})
    assert refund["result_code"] == 200, refund
    assert refund["data"]["merchant_refund_sn"] == ""
    assert refund["data"]["refund_sn"]
    queried = await sandbox.call(
        REFUND_QUERY, {"order_sn": order["order_sn"], "refund_sn": refund["data"]["refund_sn"]}
    )
    assert queried["data"]["merchant_refund_sn"] == ""
