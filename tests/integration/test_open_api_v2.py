"""Open API 2.0 (``POST /gateway/agent``) end to end through the sandbox: the two credentials, a
vendor acting for its own merchants only, every ``fbpay.*`` method against the WeChat and Alipay
simulators, one order seen through both API generations, and 2.0 error codes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.support.sandbox import RunningSandbox, running_sandbox

from jubao.protocol import envelope as env
from jubao.protocol import signing

QUERY = "fbpay.order.query"
PAY = "fbpay.order.pay"
CREATE = "fbpay.order.create"
CLOSE = "fbpay.order.close"
REFUND = "fbpay.order.refund"
REFUND_QUERY = "fbpay.order.refund.query"
WAP = "fbpay.order.wap.create"
CALLBACK_CONFIG = "fbpay.pay.callback.config"

WECHAT_CODE = "134567890123450000"  # pays at once (README "Sandbox payment codes")
ALIPAY_CODE = "280000000000010000"


def yuan(value: Any) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        yield running


def test_vector_v4_verifies() -> None:
    """Reference 2.4, V4: a vendor-level request (vendor_sn instead of app_id)."""
    secret = "1b2da5600e53fde3c657a2652839b84e"
    body = json.dumps(
        {
            "vendor_sn": "2018113015321682303a",
            "method": "fbpay.order.query",
            "format": "json",
            "sign_method": "md5",
            "nonce": "1624512345678",
            "version": "1.0",
            "biz_content": '{"merchant_id":189160,"merchant_order_sn":"20240101120000123"}',
            "sign": "DAEF2DC84E293A775A6A14CF71605E3F",
        }
    ).encode()
    parsed = env.parse_envelope(body, "application/json", vendors=True)
    assert parsed.vendor_sn == "2018113015321682303a" and parsed.app_id == ""
    assert parsed.credential == "2018113015321682303a"
    assert signing.verify(parsed.signed_params, secret, parsed.sign)
    assert not signing.verify(parsed.signed_params, secret[:-1] + "f", parsed.sign)
    # independent of jubao's signer: the reference's base string
    base = (
        'biz_content={"merchant_id":189160,"merchant_order_sn":"20240101120000123"}'
        "&format=json&method=fbpay.order.query&nonce=1624512345678&sign_method=md5"
        "&vendor_sn=2018113015321682303a&version=1.0" + secret
    )
    assert hashlib.md5(base.encode()).hexdigest().upper() == "DAEF2DC84E293A775A6A14CF71605E3F"


async def pay_by_code(
    sandbox: RunningSandbox, sn: str, code: str = WECHAT_CODE, amount: str = "2.50", **biz: Any
) -> dict[str, Any]:
    return await sandbox.agent(
        PAY,
        {
            "merchant_order_sn": sn,
            "auth_code": code,
            "total_amount": amount,
            "store_id": sandbox.info["store_id"],
            **biz,
        },
    )


async def test_vendor_pays_and_queries_for_its_merchant(sandbox: RunningSandbox) -> None:
    paid = await pay_by_code(sandbox, "V2-PAY-1")
    assert paid["result_code"] == 200, paid
    data = paid["data"]
    assert data["order_status"] == "SUCCESS"
    assert data["pay_type"] == "wxpay"
    assert yuan(data["total_amount"]) == Decimal("2.50")
    assert data["merchant_id"] == sandbox.info["merchant_id"]
    assert data["ins_order_sn"] == data["order_sn"]
    assert data["channel_order_sn"]
    assert len(data["finish_time"]) == 14 and data["finish_time"].isdigit()

    for ref in (
        {"order_sn": data["order_sn"]},
        {"ins_order_sn": data["order_sn"]},
        {"merchant_order_sn": "V2-PAY-1"},
        # Fubei's priority: order_sn wins over a wrong merchant_order_sn
        {"order_sn": data["order_sn"], "merchant_order_sn": "nope"},
    ):
        queried = await sandbox.agent(QUERY, ref)
        assert queried["result_code"] == 200, (ref, queried)
        assert queried["data"]["order_sn"] == data["order_sn"]
        assert queried["data"]["is_can_part_refund"] == 1


async def test_merchant_level_app_signs_2_0_too(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    paid = await sandbox.agent_as(
        info["app_id"],
        info["app_secret"],
        PAY,
        {
            "merchant_order_sn": "V2-APP-1",
            "auth_code": ALIPAY_CODE,
            "total_amount": "0.01",
            "store_id": info["store_id"],
        },
    )
    assert paid["result_code"] == 200, paid
    assert paid["data"]["pay_type"] == "alipay"
    # an app naming another merchant: 1004, like a vendor would get
    other = await sandbox.agent_as(
        info["app_id"],
        info["app_secret"],
        QUERY,
        {"merchant_id": info["merchant_id"] + 1, "merchant_order_sn": "V2-APP-1"},
    )
    assert other["result_code"] == 1004 and other["sub_code"] == "MERCHANT_NOT_FOUND"


async def test_one_answer_for_any_merchant_not_the_vendors(sandbox: RunningSandbox) -> None:
    directory = sandbox.runtime.merchants
    rival = await directory.create_vendor("另一个服务商")
    theirs = await directory.create_merchant(
        "别家商户", "1900999999", "wx0000000000000001", vendor_sn=rival.vendor.vendor_sn
    )
    orphan = await directory.create_merchant("无主商户", "1900888888", "wx0000000000000002")
    answers = []
    for biz in (
        {"merchant_id": theirs.merchant_id, "merchant_order_sn": "X"},
        {"merchant_id": orphan.merchant_id, "merchant_order_sn": "X"},
        {"merchant_id": 987654321, "merchant_order_sn": "X"},
        {"merchant_order_sn": "X"},  # none named
    ):
        answers.append(
            await sandbox.agent_as(
                sandbox.info["vendor_sn"],
                sandbox.info["vendor_secret"],
                QUERY,
                biz,
                "vendor_sn",
            )
        )
    assert all(a == answers[0] for a in answers), answers
    assert answers[0] == {
        "result_code": 1004,
        "result_message": "商户不存在",
        "sub_code": "MERCHANT_NOT_FOUND",
    }
    # the rival acts for its own merchant: found, but no such order (not 1004)
    own = await sandbox.agent_as(
        rival.vendor.vendor_sn,
        rival.vendor_secret,
        QUERY,
        {"merchant_id": theirs.merchant_id, "merchant_order_sn": "X"},
        "vendor_sn",
    )
    assert own["result_code"] == 400 and own["sub_code"] == "ORDER_NOT_FOUND", own


async def test_wrong_vendor_secret_and_unknown_vendor(sandbox: RunningSandbox) -> None:
    bad = await sandbox.agent_as(
        sandbox.info["vendor_sn"], "0" * 32, QUERY, {"merchant_order_sn": "X"}, "vendor_sn"
    )
    assert bad["sub_code"] == "SIGN_ERROR" and "vendor_secret" in bad["result_message"]
    unknown = await sandbox.agent_as("20180000000000000000a", "0" * 32, QUERY, {}, "vendor_sn")
    assert unknown["result_code"] == 1004 and unknown["sub_code"] == "VENDOR_NOT_FOUND"


async def test_one_order_two_views(sandbox: RunningSandbox) -> None:
    """Created through 2.0, seen through 1.0; created through 1.0, seen through 2.0."""
    paid = await pay_by_code(sandbox, "V2-BOTH-1", amount="1.20")
    assert paid["result_code"] == 200, paid
    v1 = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": "V2-BOTH-1"})
    assert v1["result_code"] == 200, v1
    assert v1["data"]["order_sn"] == paid["data"]["order_sn"]
    assert v1["data"]["trade_state"] == "SUCCESS" and v1["data"]["type"] == 1
    assert yuan(v1["data"]["total_fee"]) == Decimal("1.20")

    swiped = await sandbox.call(
        "openapi.payment.order.swipe",
        {
            "merchant_order_sn": "V1-BOTH-1",
            "auth_code": ALIPAY_CODE,
            "total_fee": "3.30",
            "store_id": sandbox.info["store_id"],
        },
    )
    assert swiped["result_code"] == 200, swiped
    v2 = await sandbox.agent(QUERY, {"merchant_order_sn": "V1-BOTH-1"})
    assert v2["result_code"] == 200, v2
    assert v2["data"]["order_sn"] == swiped["data"]["order_sn"]
    assert v2["data"]["order_status"] == "SUCCESS" and v2["data"]["pay_type"] == "alipay"
    assert yuan(v2["data"]["total_amount"]) == Decimal("3.30")


@pytest.mark.parametrize(
    ("biz", "sub_code"),
    [
        ({"merchant_order_sn": "E1", "auth_code": WECHAT_CODE}, "MISSING_PARAMETER"),
        (
            {"merchant_order_sn": "E2", "auth_code": WECHAT_CODE, "total_amount": "1.001"},
            "INVALID_AMOUNT",
        ),
        (
            {"merchant_order_sn": "E3", "auth_code": WECHAT_CODE, "total_amount": [1]},
            "INVALID_AMOUNT",
        ),
        ({"merchant_order_sn": {"a": 1}, "total_amount": "1"}, "INVALID_PARAMETER"),
    ],
)
async def test_bad_input_is_9996(
    sandbox: RunningSandbox, biz: dict[str, Any], sub_code: str
) -> None:
    answer = await sandbox.agent(PAY, biz)
    assert answer["result_code"] == 9996, answer
    assert answer["sub_code"] == sub_code


async def test_bad_envelopes_are_9996_never_500(sandbox: RunningSandbox) -> None:
    for content in (b"", b"{", b"[]", b'{"method":"fbpay.order.query"}', "\xff".encode("latin-1")):
        answer = await sandbox.http.post(
            "/gateway/agent", content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200
        payload = answer.json()
        assert payload["result_code"] == 9996, (content, payload)
    biz_not_json = await sandbox.agent(QUERY, "{not json")
    assert biz_not_json["result_code"] == 9996
    unknown_method = await sandbox.agent("fbpay.order.nonsense", {})
    assert unknown_method["result_code"] == 9996
    assert unknown_method["sub_code"] == "METHOD_NOT_SUPPORTED"
    other_path = await sandbox.http.post("/gateway/agent/x", content=b"{}")
    assert other_path.status_code == 200 and other_path.json()["result_code"] == 400
