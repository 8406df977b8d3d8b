"""TRANSACTION.SUCCESS notifications: v3 envelope, AES-256-GCM, signed headers, retries, modes."""

from __future__ import annotations

import asyncio
import json

from tests.simulator.conftest import World
from tests.simulator.support import (
    NOTIFY_URL,
    OPENID,
    SP_MCHID,
    SUB_MCHID,
    TEST_SCHEDULE,
    decrypt_notification,
    sign_params,
    verify_signed,
)


async def test_payment_notification_is_signed_encrypted_and_decryptable(world: World) -> None:
    transaction_id = await world.merchant.paid_order()
    await world.receiver.wait_for(1)
    request = world.receiver.received[0]
    assert str(request.url) == NOTIFY_URL
    assert request.headers["Content-Type"] == "application/json"
    verify_signed(request.headers, request.content, world.sim)
    envelope, plaintext = decrypt_notification(request.content)
    assert envelope["id"].startswith("EV-")
    assert len(envelope["id"]) <= 36
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["summary"] == "支付成功"
    resource = envelope["resource"]
    assert resource["original_type"] == "transaction"
    assert resource["associated_data"] == "transaction"
    assert len(resource["nonce"]) == 12
    assert resource["nonce"].isalnum()
    assert plaintext["transaction_id"] == transaction_id
    assert plaintext["trade_state"] == "SUCCESS"
    assert (plaintext["sp_mchid"], plaintext["sub_mchid"]) == (SP_MCHID, SUB_MCHID)
    assert plaintext["payer"] == {"sub_openid": OPENID}
    assert plaintext == (await world.merchant.query("order-0001")).json()
    await world.sim.idle()
    [logged] = world.sim.notifications()
    assert logged["state"] == "delivered"
    assert [a["status_code"] for a in logged["attempts"]] == [200]


async def test_retries_on_the_schedule_until_the_receiver_accepts(world: World) -> None:
    world.receiver.statuses = [500, 503]
    await world.merchant.paid_order()
    await world.receiver.wait_for(3)
    await world.sim.idle()
    [logged] = world.sim.notifications()
    assert logged["state"] == "delivered"
    assert [a["status_code"] for a in logged["attempts"]] == [500, 503, 200]
    assert "HTTP 500" in logged["attempts"][0]["error"]
    bodies = {request.content for request in world.receiver.received}
    assert len(bodies) == 1, "retries resend the same notification"
    nonces = {request.headers["Wechatpay-Nonce"] for request in world.receiver.received}
    assert len(nonces) == 3, "each attempt is signed afresh"


async def test_gives_up_after_schedule_plus_one_attempts(world: World) -> None:
    world.receiver.statuses = [500] * 10
    await world.merchant.paid_order()
    await world.sim.idle()
    [logged] = world.sim.notifications()
    assert logged["state"] == "failed"
    assert len(logged["attempts"]) == len(TEST_SCHEDULE) + 1
    # a resend starts a new round with the same body
    world.receiver.statuses = []
    resent = await world.http.post(f"/sim/wechatpay/control/notifications/{logged['id']}/resend")
    assert resent.status_code == 200
    await world.sim.idle()
    [logged] = world.sim.notifications()
    assert logged["state"] == "delivered"
    assert len(world.receiver.received) == len(TEST_SCHEDULE) + 2
    assert world.receiver.received[-1].content == world.receiver.received[0].content


async def test_unreachable_receiver_is_recorded_and_retried(world: World) -> None:
    world.receiver.unreachable = 1
    await world.merchant.paid_order()
    await world.sim.idle()
    [logged] = world.sim.notifications()
    assert logged["state"] == "delivered"
    assert logged["attempts"][0]["status_code"] is None
    assert "ConnectError" in logged["attempts"][0]["error"]
    assert logged["attempts"][1]["status_code"] == 200


async def test_drop_mode_records_and_never_sends(world: World) -> None:
    world.sim.set_behaviour(notifications="drop")
    await world.merchant.paid_order()
    await world.sim.idle()
    assert world.receiver.received == []
    [logged] = world.sim.notifications()
    assert logged["state"] == "dropped"
    assert logged["attempts"][0]["status_code"] is None
    # switch back and resend: now it arrives
    world.sim.set_behaviour(notifications="normal")
    world.sim.resend_notification(logged["id"])
    await world.sim.idle()
    assert len(world.receiver.received) == 1


async def test_duplicate_mode_sends_each_notification_twice(world: World) -> None:
    await world.http.post(
        "/sim/wechatpay/control/behaviour",
        json={"out_trade_no": "order-0001", "notifications": "duplicate"},
    )
    await world.merchant.paid_order()
    await world.sim.idle()
    assert len(world.receiver.received) == 2
    first, second = world.receiver.received
    assert first.content == second.content
    [logged] = world.sim.notifications()
    assert [a["duplicate"] for a in logged["attempts"]] == [False, True]
    # another order is not affected
    await world.merchant.paid_order("order-0002")
    await world.sim.idle()
    assert len(world.receiver.received) == 3


async def test_delivery_does_not_hold_up_the_payment_answer(world: World) -> None:
    world.receiver.gate = asyncio.Event()
    answer = await world.merchant.prepay()
    async with asyncio.timeout(2):
        paid = await world.merchant.pay(answer.json()["prepay_id"])
    assert paid.status_code == 200
    await world.receiver.wait_for(1)
    assert world.sim.notifications()[0]["state"] == "pending"
    world.receiver.gate.set()
    await world.sim.idle()
    assert world.sim.notifications()[0]["state"] == "delivered"


async def test_notification_log_over_http(world: World) -> None:
    await world.merchant.paid_order()
    await world.sim.idle()
    log = (await world.http.get("/sim/wechatpay/control/notifications")).json()["notifications"]
    assert len(log) == 1
    assert log[0]["event_type"] == "TRANSACTION.SUCCESS"
    assert log[0]["attempts"][0]["time"].endswith("+08:00")
    state = (await world.http.get("/sim/wechatpay/control/transactions/order-0001")).json()
    assert state["transaction"]["trade_state"] == "SUCCESS"
    assert state["notifications"][0]["id"] == log[0]["id"]
    assert state["prepays"][0]["live"] is True
    missing = await world.http.post("/sim/wechatpay/control/notifications/EV-nope/resend")
    assert missing.status_code == 404


async def test_signtest_probe(world: World) -> None:
    world.receiver.statuses = [401]
    answer = await world.http.post(
        "/sim/wechatpay/control/signtest", json={"url": "https://merchant.example/notify"}
    )
    assert answer.status_code == 200
    assert answer.json()["rejected"] is True
    [probe] = world.receiver.received
    assert probe.headers["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/")
    assert json.loads(probe.content)["resource"]["algorithm"] == "AEAD_AES_256_GCM"


async def test_payment_via_python_method(world: World) -> None:
    answer = await world.merchant.prepay()
    prepay_id = answer.json()["prepay_id"]
    result = world.sim.request_payment(
        sign_params(prepay_id, int(world.clock().timestamp())), OPENID
    )
    assert result["err_msg"] == "requestPayment:ok"
    await world.sim.idle()
    assert len(world.receiver.received) == 1
