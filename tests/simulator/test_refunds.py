"""Refunds: partial and multiple, never over the paid amount, idempotent, settled later."""

from __future__ import annotations

import re

from tests.simulator.conftest import World
from tests.simulator.support import SUB_MCHID, decrypt_notification, verify_signed


async def test_partial_refund_is_processing_then_success(world: World) -> None:
    transaction_id = await world.merchant.paid_order()
    answer = await world.merchant.refund("order-0001", "refund-1", 30, reason="退货")
    assert answer.status_code == 200, answer.text
    verify_signed(answer.headers, answer.content, world.sim)
    refund = answer.json()
    assert refund["status"] == "PROCESSING"
    assert re.fullmatch(r"\d{29}", refund["refund_id"])
    assert refund["transaction_id"] == transaction_id
    assert refund["amount"]["refund"] == 30
    assert refund["amount"]["total"] == 100
    assert refund["create_time"].endswith("+08:00")
    assert "success_time" not in refund
    assert (await world.merchant.query("order-0001")).json()["trade_state"] == "REFUND"
    await world.sim.idle()
    settled = (await world.merchant.query_refund("refund-1")).json()
    assert settled["status"] == "SUCCESS"
    assert settled["success_time"].endswith("+08:00")
    assert settled["refund_id"] == refund["refund_id"]
    refund_notes = [r for r in world.receiver.received if b"REFUND." in r.content]
    [note] = refund_notes
    verify_signed(note.headers, note.content, world.sim)
    envelope, plaintext = decrypt_notification(note.content)
    assert envelope["event_type"] == "REFUND.SUCCESS"
    assert envelope["resource"]["original_type"] == "refund"
    assert envelope["resource"]["associated_data"] == "refund"
    assert plaintext["refund_status"] == "SUCCESS"
    assert plaintext["out_refund_no"] == "refund-1"
    assert plaintext["sub_mchid"] == SUB_MCHID
    assert plaintext["amount"] == {
        "total": 100,
        "refund": 30,
        "payer_total": 100,
        "payer_refund": 30,
    }


async def test_refund_by_transaction_id_and_own_notify_url(world: World) -> None:
    transaction_id = await world.merchant.paid_order()
    answer = await world.merchant.call(
        "POST",
        "/v3/refund/domestic/refunds",
        {
            "sub_mchid": SUB_MCHID,
            "transaction_id": transaction_id,
            "out_refund_no": "refund-1",
            "notify_url": "https://merchant.example/refunds",
            "amount": {"refund": 100, "total": 100, "currency": "CNY"},
        },
    )
    assert answer.status_code == 200, answer.text
    await world.sim.idle()
    urls = [str(r.url) for r in world.receiver.received]
    assert urls[-1] == "https://merchant.example/refunds"


async def test_multiple_refunds_never_exceed_the_total(world: World) -> None:
    await world.merchant.paid_order()
    assert (await world.merchant.refund("order-0001", "r1", 40)).status_code == 200
    assert (await world.merchant.refund("order-0001", "r2", 50)).status_code == 200
    over = await world.merchant.refund("order-0001", "r3", 11)
    assert over.status_code == 403
    assert over.json()["code"] == "NOT_ENOUGH"
    assert (await world.merchant.refund("order-0001", "r3", 10)).status_code == 200
    assert (await world.merchant.refund("order-0001", "r4", 1)).json()["code"] == "NOT_ENOUGH"


async def test_same_out_refund_no_refunds_once(world: World) -> None:
    await world.merchant.paid_order()
    first = (await world.merchant.refund("order-0001", "r1", 60)).json()
    again = await world.merchant.refund("order-0001", "r1", 60)
    assert again.status_code == 200
    assert again.json()["refund_id"] == first["refund_id"]
    # still within the total: the retry did not count twice
    assert (await world.merchant.refund("order-0001", "r2", 40)).status_code == 200
    changed = await world.merchant.refund("order-0001", "r1", 10)
    assert changed.status_code == 400
    assert changed.json()["code"] == "INVALID_REQUEST"


async def test_refund_checks(world: World) -> None:
    await world.merchant.prepay()
    unpaid = await world.merchant.refund("order-0001", "r1", 10)
    assert unpaid.status_code == 404
    assert unpaid.json()["code"] == "RESOURCE_NOT_EXISTS"
    missing = await world.merchant.refund("no-such-order", "r1", 10)
    assert missing.json()["code"] == "RESOURCE_NOT_EXISTS"
    await world.merchant.paid_order("order-0002")
    wrong_total = await world.merchant.refund("order-0002", "r1", 10, total=99)
    assert wrong_total.status_code == 400
    assert wrong_total.json()["code"] == "PARAM_ERROR"
    too_much = await world.merchant.refund("order-0002", "r1", 101, total=100)
    assert too_much.json()["code"] == "PARAM_ERROR"
    no_order = await world.merchant.call(
        "POST",
        "/v3/refund/domestic/refunds",
        {
            "sub_mchid": SUB_MCHID,
            "out_refund_no": "r1",
            "amount": {"refund": 1, "total": 100, "currency": "CNY"},
        },
    )
    assert no_order.json()["code"] == "PARAM_ERROR"
    unknown_sub = await world.merchant.call(
        "POST",
        "/v3/refund/domestic/refunds",
        {
            "sub_mchid": "1999999999",
            "out_trade_no": "order-0002",
            "out_refund_no": "r1",
            "amount": {"refund": 1, "total": 100, "currency": "CNY"},
        },
    )
    assert unknown_sub.status_code == 404
    assert unknown_sub.json()["code"] == "MCH_NOT_EXISTS"
    query = await world.merchant.query_refund("no-such-refund")
    assert query.status_code == 404
    assert query.json()["code"] == "RESOURCE_NOT_EXISTS"


async def test_refund_failure_mode(world: World) -> None:
    await world.merchant.paid_order()
    await world.http.post("/sim/wechatpay/control/behaviour", json={"refunds": "fail"})
    assert (await world.merchant.refund("order-0001", "r1", 100)).status_code == 200
    await world.sim.idle()
    assert (await world.merchant.query_refund("r1")).json()["status"] == "ABNORMAL"
    world.sim.set_behaviour(refunds="closed")
    await world.merchant.paid_order("order-0002")
    assert (await world.merchant.refund("order-0002", "r2", 100)).status_code == 200
    await world.sim.idle()
    assert (await world.merchant.query_refund("r2")).json()["status"] == "CLOSED"
    # a CLOSED refund gives the amount back
    assert (await world.merchant.refund("order-0002", "r3", 100)).status_code == 200
    events = [decrypt_notification(r.content)[0]["event_type"] for r in world.receiver.received]
    assert "REFUND.ABNORMAL" in events
    assert "REFUND.CLOSED" in events
