"""No refund by accident: on a paid 5.00 order, an amount sent under another field name, or a
blank refund_money, refunds nothing and names the right field; only an absent refund_money
refunds the whole remainder."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jubao.errors import InvalidParameter
from jubao.protocol.methods import parse_refund
from tests.security.support import assert_failure
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

REFUND = "openapi.payment.order.refund"
STATS = "openapi.payment.refund.statistics"
QUERY = "openapi.payment.order.query"

WRONG_NAMES = ["refund_amount", "refund_fee", "Refund_money", "refundMoney", "REFUND_MONEY"]


async def paid_order(sandbox: RunningSandbox, sn: str, fee: str) -> str:
    created = await sandbox.mina(sn, fee)
    assert created["result_code"] == 200, created
    assert (await sandbox.pay(created["data"]["sign_params"])).status_code == 200

    async def is_paid() -> bool:
        answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
        return bool(answer["data"]["trade_state"] == "SUCCESS")

    await eventually(is_paid)
    order_sn: str = created["data"]["order_sn"]
    return order_sn


async def test_misnamed_or_blank_amounts_refund_nothing(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox:
        order_sn = await paid_order(sandbox, "amount-1", "5.00")
        attempts: list[dict[str, Any]] = [
            {name: "0.01", "merchant_refund_sn": f"r-{name}"} for name in WRONG_NAMES
        ]
        attempts += [
            {"refund_money": "   ", "merchant_refund_sn": "r-blank"},
            {"refund_money": "", "merchant_refund_sn": "r-empty"},
        ]
        for attempt in attempts:
            answer = await sandbox.call(REFUND, {"order_sn": order_sn, **attempt})
            assert_failure(answer, "INVALID_PARAMETER")
            assert "refund_money" in answer["result_message"], answer
        stats = await sandbox.call(STATS, {"order_sn": order_sn})
        assert Decimal(str(stats["data"]["can_refund"])) == Decimal("5.00"), stats

        # the right name refunds what it says; absent means the whole remainder
        part = await sandbox.call(
            REFUND, {"order_sn": order_sn, "refund_money": "0.01", "merchant_refund_sn": "r1"}
        )
        assert part["result_code"] == 200, part
        rest = await sandbox.call(REFUND, {"order_sn": order_sn, "merchant_refund_sn": "r2"})
        assert rest["result_code"] == 200, rest
        assert Decimal(str(rest["data"]["refund_money"])) == Decimal("4.99"), rest


@pytest.mark.parametrize("name", [*WRONG_NAMES, "amount", "refund_total_fee", "refund-money"])
def test_each_misnamed_amount_is_refused(name: str) -> None:
    with pytest.raises(InvalidParameter, match="refund_money"):
        parse_refund({"order_sn": "1", name: "0.01"})


def test_absent_and_null_mean_the_remainder_and_other_fields_pass() -> None:
    assert parse_refund({"order_sn": "1"}).refund_fen is None
    assert parse_refund({"order_sn": "1", "refund_money": None}).refund_fen is None
    assert parse_refund({"order_sn": "1", "refund_money": "0.10", "reason": "x"}).refund_fen == 10
