"""openapi.payment.order.mina end to end: gateway -> real WeChat channel -> simulator over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tests.support.sandbox import RunningSandbox, running_sandbox


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        yield running


def verify_pay_sign(sign_params: dict[str, Any], public_pem: str) -> None:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    message = "".join(
        f"{sign_params[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package")
    )
    key.verify(
        base64.b64decode(sign_params["paySign"]),
        message.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


async def test_mina_returns_verifiable_sign_params(sandbox: RunningSandbox) -> None:
    answer = await sandbox.mina(
        "m-0001",
        "0.01",
        body="测试商品",
        attach="订单:1",
        cashier_id=str(sandbox.info["cashier_id"]),
    )
    assert answer["result_code"] == 200, answer
    assert answer["result_message"] == "成功"
    data = answer["data"]
    assert re.fullmatch(r"\d{20}", data["order_sn"])
    assert data["merchant_order_sn"] == "m-0001"
    assert data["prepay_id"]
    assert data["cashier_id"] == sandbox.info["cashier_id"]
    sign_params = data["sign_params"]
    assert set(sign_params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert sign_params["signType"] == "RSA"
    assert sign_params["appId"] == sandbox.info["sub_appid"]
    assert sign_params["package"] == f"prepay_id={data['prepay_id']}"
    assert re.fullmatch(r"\d{10}", sign_params["timeStamp"])
    verify_pay_sign(sign_params, sandbox.info["sp_public_key"])
    # the sandbox.json on disk carries the same key
    on_disk = json.loads((sandbox.settings.data_dir / "sandbox.json").read_text())
    assert on_disk["sp_public_key"] == sandbox.info["sp_public_key"]


async def test_lenient_numbers_and_callback_aliases(sandbox: RunningSandbox) -> None:
    artefact = "0.1000000000000000055511151231257827021181583404541015625"
    biz = (
        '{"merchant_order_sn":"m-artefact","sub_openid":"' + sandbox.info["demo_openid"] + '",'
        '"total_fee":' + artefact + ',"store_id":"' + str(sandbox.info["store_id"]) + '",'
        '"call_back":"https://merchant.example/notify"}'
    )
    answer = await sandbox.call("openapi.payment.order.mina", biz)
    assert answer["result_code"] == 200, answer
    query = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": "m-artefact"})
    assert query["data"]["total_fee"] == 0.1
    assert (
        '"total_fee":0.10'
        in (
            await sandbox.http.post(
                "/gateway",
                content=_signed(
                    sandbox, "openapi.payment.order.query", {"order_sn": answer["data"]["order_sn"]}
                ),
                headers={"Content-Type": "application/json"},
            )
        ).text
    )


def _signed(sandbox: RunningSandbox, method: str, biz: dict[str, Any]) -> bytes:
    from tests.support import fubei

    return fubei.body(sandbox.info["app_id"], sandbox.info["app_secret"], method, biz)


async def test_identical_retry_replays_and_conflict_fails(sandbox: RunningSandbox) -> None:
    first = await sandbox.mina("m-retry", "1.00")
    second = await sandbox.mina("m-retry", "1.00")
    assert first["result_code"] == 200
    assert second == first
    conflict = await sandbox.mina("m-retry", "2.00")
    assert conflict["result_code"] == 400
    assert conflict["sub_code"] == "ORDER_SN_CONFLICT"
    assert "merchant_order_sn" in conflict["result_message"]


async def test_fifty_concurrent_identical_creates_make_one_order(sandbox: RunningSandbox) -> None:
    answers = await asyncio.gather(*(sandbox.mina("m-concurrent", "3.21") for _ in range(50)))
    assert all(answer["result_code"] == 200 for answer in answers), answers[0]
    assert all(answer == answers[0] for answer in answers)
    verify_pay_sign(answers[0]["data"]["sign_params"], sandbox.info["sp_public_key"])

    def count() -> Any:
        from jubao.storage.sql import fetch_one

        row = (
            yield fetch_one(
                "SELECT COUNT(*) AS n FROM orders WHERE merchant_order_sn = ?", "m-concurrent"
            )
        ).first
        return row["n"] if row else 0

    assert await sandbox.runtime.db.read(count) == 1


async def test_order_sn_is_unique_across_many_orders(sandbox: RunningSandbox) -> None:
    answers = await asyncio.gather(*(sandbox.mina(f"m-many-{i}", "0.02") for i in range(40)))
    order_sns = {answer["data"]["order_sn"] for answer in answers}
    assert len(order_sns) == 40


async def test_gateway_time_excludes_upstream_latency(sandbox: RunningSandbox) -> None:
    sandbox.simulator.set_latency(200)
    content = _signed(
        sandbox,
        "openapi.payment.order.mina",
        {
            "merchant_order_sn": "m-latency",
            "sub_openid": sandbox.info["demo_openid"],
            "total_fee": "0.01",
            "store_id": sandbox.info["store_id"],
        },
    )
    answer = await sandbox.http.post(
        "/gateway", content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.json()["result_code"] == 200
    upstream_ms = float(answer.headers["X-Upstream-Time"].removesuffix("ms"))
    gateway_ms = float(answer.headers["X-Gateway-Time"].removesuffix("ms"))
    assert upstream_ms >= 200
    assert gateway_ms < upstream_ms
