"""``/request-payment``: what the WeChat client checks before it lets the payer pay."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import World
from tests.simulator.support import OPENID, SP_APPID, sign_params


async def _prepay_id(world: World, **changes: Any) -> str:
    answer = await world.merchant.prepay(**changes)
    assert answer.status_code == 200, answer.text
    prepay_id: str = answer.json()["prepay_id"]
    return prepay_id


async def _state(world: World) -> str:
    state: str = (await world.merchant.query("order-0001")).json()["trade_state"]
    return state


async def test_good_payment(world: World) -> None:
    answer = await world.merchant.pay(await _prepay_id(world))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["err_msg"] == "requestPayment:ok"
    assert len(body["transaction_id"]) == 28
    assert await _state(world) == "SUCCESS"


async def test_paying_twice_is_refused(world: World) -> None:
    prepay_id = await _prepay_id(world)
    assert (await world.merchant.pay(prepay_id)).status_code == 200
    twice = await world.merchant.pay(prepay_id)
    assert twice.status_code == 409
    assert twice.json()["code"] == "ORDER_PAID"


async def test_tampered_pay_sign_pays_nothing(world: World) -> None:
    prepay_id = await _prepay_id(world)
    good = sign_params(prepay_id, int(world.clock().timestamp()))
    forged = sign_params(prepay_id, int(world.clock().timestamp()) + 1)["paySign"]
    answer = await world.merchant.pay(prepay_id, paySign=forged, timeStamp=good["timeStamp"])
    assert answer.status_code == 400
    assert answer.json()["code"] == "PAYSIGN_INVALID"
    assert answer.json()["err_msg"].startswith("requestPayment:fail")
    assert await _state(world) == "NOTPAY"
    garbage = await world.merchant.pay(prepay_id, paySign="not base64!")
    assert garbage.json()["code"] == "PAYSIGN_INVALID"
    assert world.sim.notifications() == []


async def test_wrong_openid_is_refused(world: World) -> None:
    answer = await world.merchant.pay(await _prepay_id(world), openid="oSomeoneElse")
    assert answer.status_code == 403
    assert answer.json()["code"] == "OPENID_MISMATCH"
    assert await _state(world) == "NOTPAY"


async def test_expired_prepay_id_is_refused(world: World) -> None:
    prepay_id = await _prepay_id(world)
    world.sim.expire_prepay(prepay_id)
    answer = await world.merchant.pay(prepay_id)
    assert answer.status_code == 400
    assert answer.json()["code"] == "PREPAY_ID_EXPIRED"
    assert await _state(world) == "NOTPAY"


async def test_prepay_id_lives_two_hours(world: World) -> None:
    prepay_id = await _prepay_id(world)
    world.clock.advance(2 * 3600 - 1)
    # signed "now" follows the clock, so only the prepay_id's age matters
    assert (await world.merchant.pay(prepay_id)).status_code == 200


async def test_malformed_sign_params_are_refused(world: World) -> None:
    prepay_id = await _prepay_id(world)
    cases = {
        "SIGN_TYPE_INVALID": {"signType": "MD5"},
        "TIMESTAMP_INVALID": {"timeStamp": "17000000000"},
        "PACKAGE_INVALID": {"package": prepay_id},
        "PREPAY_ID_INVALID": {"package": "prepay_id=wx000"},
        "APPID_MISMATCH": {"appId": SP_APPID},
        "INVALID_REQUEST": {"nonceStr": ""},
    }
    for code, tamper in cases.items():
        answer = await world.merchant.pay(prepay_id, **tamper)
        assert answer.status_code == 400, (code, answer.text)
        assert answer.json()["code"] == code
    no_openid = await world.http.post(
        "/sim/wechatpay/request-payment", json={"sign_params": sign_params(prepay_id, 1700000000)}
    )
    assert no_openid.json()["code"] == "INVALID_REQUEST"
    assert await _state(world) == "NOTPAY"


async def test_closed_or_expired_orders_cannot_be_paid(world: World) -> None:
    prepay_id = await _prepay_id(world)
    await world.merchant.close("order-0001")
    answer = await world.merchant.pay(prepay_id)
    assert answer.status_code == 409
    assert answer.json()["code"] == "ORDER_CLOSED"
    other = await _prepay_id(world, out_trade_no="order-0002")
    world.sim.expire_order("order-0002")
    assert (await world.merchant.pay(other)).json()["code"] == "ORDER_CLOSED"


async def test_sp_openid_order_is_paid_with_sp_appid(world: World) -> None:
    prepay_id = await _prepay_id(world, sub_appid=None, payer={"sp_openid": OPENID})
    params = sign_params(prepay_id, int(world.clock().timestamp()), app_id=SP_APPID)
    answer = await world.http.post(
        "/sim/wechatpay/request-payment", json={"sign_params": params, "openid": OPENID}
    )
    assert answer.status_code == 200, answer.text


async def test_failure_for_the_next_payment_of_one_order(world: World) -> None:
    prepay_id = await _prepay_id(world)
    world.sim.set_behaviour(out_trade_no="order-0001", payment="fail")
    failed = await world.merchant.pay(prepay_id)
    assert failed.status_code == 402
    assert failed.json()["code"] == "PAYMENT_FAILED"
    assert await _state(world) == "NOTPAY"
    assert (await world.merchant.pay(prepay_id)).status_code == 200


async def test_global_failure_over_http(world: World) -> None:
    prepay_id = await _prepay_id(world)
    set_fail = await world.http.post("/sim/wechatpay/control/behaviour", json={"payment": "fail"})
    assert set_fail.status_code == 200
    assert set_fail.json()["payment"] == "fail"
    for _ in range(2):
        assert (await world.merchant.pay(prepay_id)).json()["code"] == "PAYMENT_FAILED"
    await world.http.post("/sim/wechatpay/control/behaviour", json={"payment": "succeed"})
    assert (await world.merchant.pay(prepay_id)).status_code == 200
