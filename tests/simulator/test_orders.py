"""Partner JSAPI prepay, query and close over HTTP, signed like a real service provider."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.simulator.conftest import World
from tests.simulator.support import (
    OPENID,
    OTHER_SUB_MCHID,
    SP_APPID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    verify_signed,
)


async def test_prepay_answers_a_signed_prepay_id(world: World) -> None:
    answer = await world.merchant.prepay()
    assert answer.status_code == 200, answer.text
    prepay_id = answer.json()["prepay_id"]
    assert re.fullmatch(r"wx\d{14}[0-9a-f]{20}", prepay_id)
    assert answer.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9A-F]+-0", answer.headers["Request-ID"])
    verify_signed(answer.headers, answer.content, world.sim)


@pytest.mark.parametrize(
    ("changes", "code", "status"),
    [
        ({"description": ""}, "PARAM_ERROR", 400),
        ({"description": "x" * 128}, "PARAM_ERROR", 400),
        ({"description": None}, "PARAM_ERROR", 400),
        ({"out_trade_no": "abc12"}, "PARAM_ERROR", 400),
        ({"out_trade_no": "x" * 33}, "PARAM_ERROR", 400),
        ({"out_trade_no": "order#0001"}, "PARAM_ERROR", 400),
        ({"amount": {"total": 0}}, "PARAM_ERROR", 400),
        ({"amount": {"total": 1.5}}, "PARAM_ERROR", 400),
        ({"amount": {"total": "100"}}, "PARAM_ERROR", 400),
        ({"amount": {"total": True}}, "PARAM_ERROR", 400),
        ({"amount": {"total": 100, "currency": "USD"}}, "PARAM_ERROR", 400),
        ({"amount": None}, "PARAM_ERROR", 400),
        ({"time_expire": "2030-01-01 10:00:00"}, "PARAM_ERROR", 400),
        ({"notify_url": "ftp://merchant.example/notify"}, "PARAM_ERROR", 400),
        ({"notify_url": "https://merchant.example/notify?a=1"}, "PARAM_ERROR", 400),
        ({"notify_url": "https://merchant.example/" + "n" * 250}, "PARAM_ERROR", 400),
        ({"payer": {}}, "PARAM_ERROR", 400),
        ({"payer": {"sp_openid": "a", "sub_openid": "b"}}, "PARAM_ERROR", 400),
        ({"sub_appid": None}, "PARAM_ERROR", 400),  # sub_openid needs sub_appid
        ({"unknown_field": 1}, "PARAM_ERROR", 400),
        ({"sp_appid": "wxnotbound"}, "APPID_MCHID_NOT_MATCH", 400),
        ({"sub_appid": "wxnotbound"}, "APPID_MCHID_NOT_MATCH", 400),
        ({"sub_mchid": "1999999999"}, "MCH_NOT_EXISTS", 400),
        ({"sp_mchid": "1900000999"}, "SIGN_ERROR", 401),
    ],
)
async def test_prepay_validation(
    world: World, changes: dict[str, Any], code: str, status: int
) -> None:
    answer = await world.merchant.prepay(**changes)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert answer.json()["message"]
    assert "Request-ID" in answer.headers


async def test_prepay_accepts_sp_openid_without_sub_appid(world: World) -> None:
    answer = await world.merchant.prepay(sub_appid=None, payer={"sp_openid": OPENID})
    assert answer.status_code == 200, answer.text
    query = await world.merchant.query("order-0001")
    assert "sub_appid" not in query.json()


async def test_identical_retry_gets_the_same_prepay_id_and_changes_conflict(world: World) -> None:
    first = (await world.merchant.prepay()).json()["prepay_id"]
    again = await world.merchant.prepay()
    assert again.status_code == 200
    assert again.json()["prepay_id"] == first
    conflict = await world.merchant.prepay(amount={"total": 200, "currency": "CNY"})
    assert conflict.status_code == 403
    assert conflict.json()["code"] == "OUT_TRADE_NO_USED"
    assert conflict.headers["Request-ID"].endswith("-268498688")
    # out_trade_no is unique under the provider, across sub-merchants
    other = await world.merchant.prepay(
        sub_mchid=OTHER_SUB_MCHID, sub_appid=None, payer={"sp_openid": OPENID}
    )
    assert other.json()["code"] == "OUT_TRADE_NO_USED"


async def test_retry_after_the_prepay_id_expired_gets_a_new_one(world: World) -> None:
    first = (await world.merchant.prepay()).json()["prepay_id"]
    world.clock.advance(2 * 3600)
    second = (await world.merchant.prepay()).json()["prepay_id"]
    assert second != first
    old = await world.merchant.pay(first)
    assert old.json()["code"] == "PREPAY_ID_EXPIRED"
    assert (await world.merchant.pay(second)).status_code == 200


async def test_query_before_and_after_payment(world: World) -> None:
    await world.merchant.prepay(attach="附加数据")
    before = await world.merchant.query("order-0001")
    assert before.status_code == 200
    verify_signed(before.headers, before.content, world.sim)
    unpaid = before.json()
    assert unpaid["trade_state"] == "NOTPAY"
    assert unpaid["trade_state_desc"]
    assert unpaid["attach"] == "附加数据"
    for absent in ("transaction_id", "success_time", "bank_type", "payer"):
        assert absent not in unpaid
    transaction_id = await world.merchant.pay(
        (await world.merchant.prepay(attach="附加数据")).json()["prepay_id"]
    )
    paid = (await world.merchant.query("order-0001")).json()
    assert paid["transaction_id"] == transaction_id.json()["transaction_id"]
    assert re.fullmatch(r"\d{28}", paid["transaction_id"])
    assert paid["trade_state"] == "SUCCESS"
    assert paid["trade_type"] == "JSAPI"
    assert paid["bank_type"] == "OTHERS"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", paid["success_time"])
    assert paid["payer"] == {"sub_openid": OPENID}
    assert paid["amount"] == {
        "total": 100,
        "payer_total": 100,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert (paid["sp_appid"], paid["sp_mchid"]) == (SP_APPID, SP_MCHID)
    assert (paid["sub_appid"], paid["sub_mchid"]) == (SUB_APPID, SUB_MCHID)
    by_id = await world.merchant.call(
        "GET",
        f"/v3/pay/partner/transactions/id/{paid['transaction_id']}"
        f"?sp_mchid={SP_MCHID}&sub_mchid={SUB_MCHID}",
    )
    assert by_id.status_code == 200
    assert by_id.json() == paid


async def test_query_unknown_or_foreign_order(world: World) -> None:
    await world.merchant.prepay()
    for answer in (
        await world.merchant.query("no-such-order"),
        await world.merchant.query("order-0001", sub_mchid=OTHER_SUB_MCHID),
        await world.merchant.call(
            "GET",
            f"/v3/pay/partner/transactions/id/4200000000202401010000000000"
            f"?sp_mchid={SP_MCHID}&sub_mchid={SUB_MCHID}",
        ),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "ORDER_NOT_EXIST"
    missing = await world.merchant.call(
        "GET", f"/v3/pay/partner/transactions/out-trade-no/order-0001?sp_mchid={SP_MCHID}"
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "PARAM_ERROR"


async def test_close_is_204_signed_and_reentrant(world: World) -> None:
    await world.merchant.prepay()
    for _ in range(2):
        closed = await world.merchant.close("order-0001")
        assert closed.status_code == 204
        assert closed.content == b""
        verify_signed(closed.headers, b"", world.sim)
    assert (await world.merchant.query("order-0001")).json()["trade_state"] == "CLOSED"
    again = await world.merchant.prepay()
    assert again.status_code == 400
    assert again.json()["code"] == "ORDER_CLOSED"


async def test_close_paid_or_unknown_order_fails(world: World) -> None:
    await world.merchant.paid_order()
    paid = await world.merchant.close("order-0001")
    assert paid.status_code == 400
    assert paid.json()["code"] == "ORDERPAID"
    assert paid.headers["Request-ID"].endswith("-268449538")
    reprepay = await world.merchant.prepay()
    assert reprepay.json()["code"] == "ORDERPAID"
    unknown = await world.merchant.close("no-such-order")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "ORDER_NOT_EXIST"


async def test_order_expires_at_time_expire(world: World) -> None:
    expire = (world.clock() + timedelta(minutes=30)).isoformat(timespec="seconds")
    await world.merchant.prepay(time_expire=expire)
    world.clock.advance(29 * 60)
    assert (await world.merchant.query("order-0001")).json()["trade_state"] == "NOTPAY"
    world.clock.advance(61)
    assert (await world.merchant.query("order-0001")).json()["trade_state"] == "CLOSED"


async def test_time_expire_closer_than_a_minute_is_moved_to_a_minute(world: World) -> None:
    expire = (world.clock() - timedelta(hours=1)).isoformat(timespec="seconds")
    await world.merchant.prepay(time_expire=expire)
    world.clock.advance(59)
    assert (await world.merchant.query("order-0001")).json()["trade_state"] == "NOTPAY"
    world.clock.advance(1)
    assert (await world.merchant.query("order-0001")).json()["trade_state"] == "CLOSED"
