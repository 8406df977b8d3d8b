"""The sandbox control API: faults, latency, sub-merchant bindings, inspection."""

from __future__ import annotations

import time
from typing import Any

from tests.simulator.conftest import World
from tests.simulator.support import OPENID, SP_MCHID, verify_signed


async def test_injected_faults_answer_the_next_calls(world: World) -> None:
    await world.http.post("/sim/wechatpay/control/faults", json={"count": 2})
    for _ in range(2):
        answer = await world.merchant.prepay()
        assert answer.status_code == 500
        assert answer.json()["code"] == "SYSTEM_ERROR"
        assert "Request-ID" in answer.headers
    assert (await world.merchant.prepay()).status_code == 200
    world.sim.inject_faults(1, 429, "FREQUENCY_LIMITED")
    limited = await world.merchant.query("order-0001")
    assert limited.status_code == 429
    assert limited.json()["code"] == "FREQUENCY_LIMITED"
    world.sim.inject_faults(5, 403, "NOT_ENOUGH", "余额不足")
    await world.http.delete("/sim/wechatpay/control/faults")
    assert (await world.merchant.query("order-0001")).status_code == 200


async def test_latency_is_added_to_v3_answers(world: World) -> None:
    answer = await world.http.post("/sim/wechatpay/control/latency", json={"latency_ms": 150})
    assert answer.json()["latency_ms"] == 150
    started = time.perf_counter()
    assert (await world.merchant.prepay()).status_code == 200
    assert time.perf_counter() - started >= 0.15
    world.sim.set_latency(0)


async def test_register_a_sub_merchant_over_http(world: World) -> None:
    changes: dict[str, Any] = {
        "sub_mchid": "1900000777",
        "sub_appid": "wxnewsubapp0000001",
        "payer": {"sub_openid": OPENID},
    }
    assert (await world.merchant.prepay(**changes)).json()["code"] == "MCH_NOT_EXISTS"
    answer = await world.http.post(
        "/sim/wechatpay/control/sub-merchants",
        json={"sp_mchid": SP_MCHID, "sub_mchid": "1900000777", "sub_appid": "wxnewsubapp0000001"},
    )
    assert answer.status_code == 200
    assert answer.json()["sub_merchants"][SP_MCHID]["1900000777"] == ["wxnewsubapp0000001"]
    assert (await world.merchant.prepay(**changes)).status_code == 200
    unknown = await world.http.post(
        "/sim/wechatpay/control/sub-merchants",
        json={"sp_mchid": "1999", "sub_mchid": "1", "sub_appid": "wx"},
    )
    assert unknown.status_code == 404


async def test_expire_controls_over_http(world: World) -> None:
    prepay_id = (await world.merchant.prepay()).json()["prepay_id"]
    expired = await world.http.post(f"/sim/wechatpay/control/prepays/{prepay_id}/expire")
    assert expired.status_code == 200
    assert (await world.merchant.pay(prepay_id)).json()["code"] == "PREPAY_ID_EXPIRED"
    fresh = (await world.merchant.prepay()).json()["prepay_id"]
    assert fresh != prepay_id
    closed = await world.http.post("/sim/wechatpay/control/transactions/order-0001/expire")
    assert closed.json()["trade_state"] == "CLOSED"
    assert (await world.http.post("/sim/wechatpay/control/prepays/wx1/expire")).status_code == 404


async def test_control_errors_and_unknown_paths_are_json(world: World) -> None:
    bad = await world.http.post("/sim/wechatpay/control/behaviour", json={"payment": "maybe"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_REQUEST"
    assert (await world.http.get("/sim/wechatpay/control/transactions/nope")).status_code == 404
    unknown = await world.http.get("/sim/wechatpay/v3/no/such/thing")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "NOT_FOUND"
    keys = (await world.http.get("/sim/wechatpay/control/keys")).json()
    assert keys["public_key_id"] == world.sim.public_key_id
    assert keys["platform_public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


async def test_reset_restores_defaults(world: World) -> None:
    world.sim.set_behaviour(payment="fail", notifications="drop", refunds="closed")
    world.sim.set_latency(5)
    world.sim.inject_faults(3)
    reset = (await world.http.post("/sim/wechatpay/control/reset")).json()
    assert reset == {
        "payment": "succeed",
        "notifications": "normal",
        "refunds": "success",
        "latency_ms": 0,
        "faults": None,
    }
    answer = await world.merchant.prepay()
    verify_signed(answer.headers, answer.content, world.sim)
