"""Races that a payment gateway meets in production, run many times over on SQLite and PostgreSQL.

Each test loops ``JUBAO_RACE_ITERATIONS`` times (default 3) with fresh orders, because a race that
holds once proves little. Related races covered elsewhere (see docs/reliability.md):

- 50 identical creates at once: ``tests/integration/test_mina.py::
  test_fifty_concurrent_identical_creates_make_one_order`` (both databases);
- identical creates through two gateway processes: ``tests/deploy/test_multi_process.py``;
- two workers racing one notification: ``tests/notify/test_leases.py::
  test_two_dispatchers_never_deliver_one_notification_at_the_same_time``.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jubao.storage.sql import Tx, fetch_all, fetch_one
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

ITERATIONS = int(os.environ.get("JUBAO_RACE_ITERATIONS", "3"))
QUERY = "openapi.payment.order.query"
CLOSE = "openapi.payment.order.close"
REFUND = "openapi.payment.order.refund"
CALLBACK = "http://127.0.0.1:9/notify"  # nothing listens: the outbox row is what counts here


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        simulator_overrides={"time_scale": 0.01, "refund_delay_seconds": 0.05},
        reconcile_after_seconds=0.0,
        maintenance_interval_seconds=0.2,
    ) as running:
        yield running


async def delayed(seconds: float, call: Awaitable[Any]) -> Any:
    await asyncio.sleep(seconds)
    return await call


async def paid_order(sandbox: RunningSandbox, sn: str, fee: str) -> str:
    created = await sandbox.mina(sn, fee, call_back_url=CALLBACK)
    assert created["result_code"] == 200, created
    assert (await sandbox.pay(created["data"]["sign_params"])).status_code == 200

    async def is_paid() -> bool:
        answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
        return bool(answer["data"]["trade_state"] == "SUCCESS")

    await eventually(is_paid)
    order_sn: str = created["data"]["order_sn"]
    return order_sn


def order_facts(order_sn: str) -> Callable[[], Tx[dict[str, Any]]]:
    """Everything needed to judge one order's consistency, read in one snapshot."""

    def unit() -> Tx[dict[str, Any]]:
        order = (yield fetch_one("SELECT * FROM orders WHERE order_sn = ?", order_sn)).first
        assert order is not None
        refunds = (
            yield fetch_all("SELECT * FROM refunds WHERE order_id = ?", order["order_id"])
        ).rows
        events = (
            yield fetch_all("SELECT kind FROM order_events WHERE order_id = ?", order["order_id"])
        ).rows
        outbox = (
            yield fetch_all(
                "SELECT kind FROM notifications WHERE order_id = ? AND kind = 'PAYMENT'",
                order["order_id"],
            )
        ).rows
        return {
            "order": order,
            "refunds": refunds,
            "events": Counter(row["kind"] for row in events),
            "payment_notifications": len(outbox),
        }

    return unit


def assert_refund_books_balance(facts: dict[str, Any]) -> None:
    live = [r for r in facts["refunds"] if r["status"] != "FAILED"]
    order = facts["order"]
    assert order["refunded_fen"] == sum(r["refund_fen"] for r in live), facts
    assert order["refund_count"] == len(live), facts
    assert order["refunded_fen"] <= order["total_fen"], facts


async def test_identical_and_conflicting_creates_at_once(sandbox: RunningSandbox) -> None:
    """Twenty identical creates and five with other parameters, all at once: one order, one
    prepay; every identical caller gets the same answer, every different one a conflict."""
    for iteration in range(ITERATIONS):
        sn = f"race-create-{iteration}"
        calls = [sandbox.mina(sn, "1.23") for _ in range(20)]
        calls += [sandbox.mina(sn, "9.99") for _ in range(5)]
        answers = await asyncio.gather(*calls)
        winners = [a for a in answers if a["result_code"] == 200]
        losers = [a for a in answers if a["result_code"] != 200]
        assert winners and all(a == winners[0] for a in winners), answers
        assert {a["sub_code"] for a in losers} <= {"ORDER_SN_CONFLICT"}, losers
        # which parameters won depends on who inserted first; the others are all conflicts
        assert len(winners) in (20, 5), [a.get("sub_code") for a in answers]

        def rows(sn: str = sn) -> Tx[list[dict[str, Any]]]:
            return (
                yield fetch_all(
                    "SELECT o.order_sn, o.prepay_id, o.instruction, "
                    "(SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.order_id "
                    "AND e.kind = 'PREPAY') AS prepays FROM orders o WHERE merchant_order_sn = ?",
                    sn,
                )
            ).rows

        stored = await sandbox.runtime.db.read(rows)
        assert len(stored) == 1
        assert stored[0]["prepays"] == 1 and stored[0]["prepay_id"] and stored[0]["instruction"]


@pytest.mark.parametrize("amount", ["0.04", None], ids=["amount", "whole-remainder"])
async def test_one_merchant_refund_sn_from_twenty_callers_is_one_refund(
    sandbox: RunningSandbox, amount: str | None
) -> None:
    for iteration in range(ITERATIONS):
        order_sn = await paid_order(sandbox, f"race-rsn-{amount}-{iteration}", "0.10")
        biz: dict[str, Any] = {"order_sn": order_sn, "merchant_refund_sn": "same-sn"}
        if amount is not None:
            biz["refund_money"] = amount
        answers = await asyncio.gather(*(sandbox.call(REFUND, biz) for _ in range(20)))
        # a retry must be answered like the first request: the same refund, never an error
        assert all(a["result_code"] == 200 for a in answers), [
            a for a in answers if a["result_code"] != 200
        ][:2]
        assert len({a["data"]["refund_sn"] for a in answers}) == 1, answers
        facts = await sandbox.runtime.db.read(order_facts(order_sn))
        assert len(facts["refunds"]) == 1, facts["refunds"]
        assert facts["refunds"][0]["refund_fen"] == (4 if amount else 10)
        assert_refund_books_balance(facts)


@pytest.mark.parametrize("amount", ["0.03", None], ids=["amount", "whole-remainder"])
async def test_concurrent_refunds_without_refund_sn_never_exceed_the_payment(
    sandbox: RunningSandbox, amount: str | None
) -> None:
    for iteration in range(ITERATIONS):
        order_sn = await paid_order(sandbox, f"race-refund-{amount}-{iteration}", "0.10")
        biz: dict[str, Any] = {"order_sn": order_sn}
        if amount is not None:
            biz["refund_money"] = amount
        answers = await asyncio.gather(*(sandbox.call(REFUND, biz) for _ in range(20)))
        accepted = [a for a in answers if a["result_code"] == 200]
        refused = {a["sub_code"] for a in answers if a["result_code"] != 200}
        assert len(accepted) == (3 if amount else 1), answers
        assert refused <= {"REFUND_EXCEEDS"}, refused
        facts = await sandbox.runtime.db.read(order_facts(order_sn))
        assert len(facts["refunds"]) == len(accepted)
        assert_refund_books_balance(facts)
        assert facts["order"]["refunded_fen"] == (9 if amount else 10)


async def test_close_racing_payment_ends_consistent(sandbox: RunningSandbox) -> None:
    """Close and wx.requestPayment at the same moment: either CLOSED with nothing paid at WeChat,
    or SUCCESS with the payment recorded once. Never CLOSED while WeChat says paid."""
    outcomes: Counter[str] = Counter()
    for iteration in range(ITERATIONS * 4):
        sn = f"race-close-{iteration}"
        created = await sandbox.mina(sn, "0.05", call_back_url=CALLBACK)
        assert created["result_code"] == 200, created
        order_sn = created["data"]["order_sn"]
        # stagger the two by 0-15 ms either way, so that both orders of arrival happen
        lead = (iteration % 4) * 0.005
        close_delay, pay_delay = (lead, 0.0) if iteration % 2 else (0.0, lead)
        await asyncio.gather(
            delayed(close_delay, sandbox.call(CLOSE, {"merchant_order_sn": sn})),
            delayed(pay_delay, sandbox.pay(created["data"]["sign_params"])),
        )
        await sandbox.simulator.idle()  # the payment notification, if any, has been delivered
        query = await sandbox.call(QUERY, {"merchant_order_sn": sn})  # reconciles if unpaid
        wechat = sandbox.simulator.transaction_state(order_sn)["transaction"]["trade_state"]
        facts = await sandbox.runtime.db.read(order_facts(order_sn))
        state = facts["order"]["state"]
        assert query["data"]["trade_state"] == state
        if wechat == "SUCCESS":
            assert state == "SUCCESS", (wechat, facts)
            assert facts["events"]["PAID"] == 1 and facts["payment_notifications"] == 1, facts
            assert facts["order"]["channel_trade_no"]
        else:
            assert state == "CLOSED" and wechat == "CLOSED", (wechat, facts)
            assert facts["events"]["PAID"] == 0 and facts["payment_notifications"] == 0, facts
        outcomes[state] += 1
    # not an invariant, but a race that always goes one way tests only half the code
    print(f"close vs payment outcomes: {dict(outcomes)}")


async def test_payment_notification_racing_query_reconciliation(sandbox: RunningSandbox) -> None:
    """WeChat's notification and a burst of queries (each reconciling with WeChat) apply the
    same payment at once: exactly one PAID event and one merchant notification row."""
    for iteration in range(ITERATIONS * 2):
        sn = f"race-notify-{iteration}"
        created = await sandbox.mina(sn, "0.07", call_back_url=CALLBACK)
        assert created["result_code"] == 200, created
        order_sn = created["data"]["order_sn"]
        # the payer pays; WeChat's notification is now on its way while eight queries ask
        # WeChat and apply the same payment
        payment = await sandbox.pay(created["data"]["sign_params"])
        assert payment.status_code == 200, payment.text
        answers = await asyncio.gather(
            *(sandbox.call(QUERY, {"merchant_order_sn": sn}) for _ in range(8))
        )
        await sandbox.simulator.idle()
        final = await sandbox.call(QUERY, {"merchant_order_sn": sn})
        assert final["data"]["trade_state"] == "SUCCESS"
        assert {a["data"]["trade_state"] for a in answers} <= {"USERPAYING", "SUCCESS"}
        facts = await sandbox.runtime.db.read(order_facts(order_sn))
        assert facts["events"]["PAID"] == 1, facts["events"]
        assert facts["payment_notifications"] == 1, facts
