"""Both 2.0 clients (sync and async) at both credential levels, against a fake gateway behind
httpx.MockTransport that checks every request's path, identity and independent MD5 sign."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
import pytest

from jubao.client import InvalidResponse, MerchantNotFound, SignatureRejected, TransportError
from jubao.client.v2 import (
    AppCredentials,
    CallbackConfigRequest,
    CloseRequest,
    CreateOrderRequest,
    Credentials,
    FixedQrcodeRequest,
    OrderQueryRequest,
    OrderStatus,
    PayRequest,
    PayType,
    QrcodeOrderRequest,
    RefundQueryRequest,
    RefundRequest,
    RefundStatus,
    VendorCredentials,
    WapOrderRequest,
)
from tests.client.adapters_v2 import KINDS, Kind, V2Api, open_v2_client
from tests.support.fubei import md5_sign

Level = Literal["merchant", "vendor"]
APP_ID = "20240101000000000042"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VENDOR_SN = "2018113015321682303a"
VENDOR_SECRET = "1b2da5600e53fde3c657a2652839b84e"
MERCHANT_ID = 189160

ORDER = (
    '{"order_sn":"20240101000000000001","merchant_order_sn":"M1","ins_order_sn":"I1",'
    '"channel_order_sn":"4200","merchant_id":189160,"order_status":"SUCCESS","pay_type":"wxpay",'
    '"total_amount":0.03,"net_amount":0.03,"fee":0,"store_id":5,"finish_time":"20240101120000",'
    '"is_can_part_refund":1,"brand_new_field":true}'
)
ANSWERS: dict[str, str] = {
    "fbpay.order.pay": ORDER,
    "fbpay.order.query": ORDER,
    "fbpay.order.create": (
        '{"order_sn":"2","merchant_order_sn":"C1","prepay_id":"wx1","pay_type":"wxpay",'
        '"total_amount":"0.03","sign_package":{"appId":"wxsub","timeStamp":"1","nonceStr":"n",'
        '"package":"prepay_id=wx1","signType":"RSA","paySign":"s"}}'
    ),
    "fbpay.order.close": '{"order_sn":"2","merchant_order_sn":"C1","order_status":"CLOSED"}',
    "fbpay.order.refund": (
        '{"order_sn":"1","refund_sn":"9","merchant_refund_sn":"R1","refund_amount":0.01,'
        '"refund_status":"REFUND_PROCESSING","handler":""}'
    ),
    "fbpay.order.refund.query": (
        '{"order_sn":"1","refund_sn":"9","refund_amount":0.01,"refund_status":"REFUND_SUCCESS",'
        '"finish_time":20240101120500}'
    ),
    "fbpay.order.qrcode": '{"order_sn":"3","qrcode_url":"http://gw.test/qr/3"}',
    "fbpay.fixed.qrcode.create": '{"qrcode_url":"http://gw.test/qr/f","merchant_order_sn":"F1"}',
    "fbpay.order.wap.create": '{"html":"<form></form>","order_sn":"4"}',
    "fbpay.pay.callback.config": '{"bind_status":1,"merchant_id":189160,"resp_message":""}',
}

Failure = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeAgentGateway:
    identity_key: str
    secret: str
    failures: list[Failure] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/gateway/agent"
        params: dict[str, str] = json.loads(request.content)
        self.requests.append(params)
        if self.failures:
            return self.failures.pop(0)(request)
        assert {"app_id", "vendor_sn"} & set(params) == {self.identity_key}
        if params["sign"] != md5_sign(params, self.secret):
            return answer(
                {"result_code": 9996, "result_message": "签名错误", "sub_code": "SIGN_ERROR"}
            )
        biz = self.biz()
        if self.identity_key == "vendor_sn" and biz.get("merchant_id") != MERCHANT_ID:
            return answer({"result_code": 1004, "result_message": "商户不存在"})
        data = ANSWERS[params["method"]]
        return httpx.Response(
            200, content=f'{{"result_code":200,"result_message":"成功","data":{data}}}'.encode()
        )

    def biz(self, index: int = -1) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(
            self.requests[index]["biz_content"], parse_float=Decimal
        )
        return decoded

    def own_biz(self, index: int = -1) -> dict[str, Any]:
        """The business fields, without the merchant scope."""
        return {k: v for k, v in self.biz(index).items() if k != "merchant_id"}


def answer(payload: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(payload, ensure_ascii=False).encode())


def credentials_for(level: Level) -> Credentials:
    if level == "vendor":
        return VendorCredentials(VENDOR_SN, VENDOR_SECRET, merchant_id=MERCHANT_ID)
    return AppCredentials(APP_ID, APP_SECRET)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> Kind:
    chosen: Kind = request.param
    return chosen


@pytest.fixture(params=["merchant", "vendor"])
def level(request: pytest.FixtureRequest) -> Level:
    chosen: Level = request.param
    return chosen


@pytest.fixture
def gateway(level: Level) -> FakeAgentGateway:
    if level == "vendor":
        return FakeAgentGateway("vendor_sn", VENDOR_SECRET)
    return FakeAgentGateway("app_id", APP_SECRET)


@pytest.fixture
async def client(kind: Kind, level: Level, gateway: FakeAgentGateway) -> AsyncIterator[V2Api]:
    async with open_v2_client(
        kind, credentials_for(level), "http://gw.test", transport=httpx.MockTransport(gateway)
    ) as opened:
        yield opened


async def test_every_method(client: V2Api, gateway: FakeAgentGateway, level: Level) -> None:
    paid = await client.pay(
        PayRequest(merchant_order_sn="M1", auth_code="134567890123450001", total_fen=3)
    )
    assert (paid.order_status, paid.pay_type, paid.total_amount_fen) == (
        OrderStatus.SUCCESS, PayType.WXPAY, 3,
    )  # fmt: skip
    assert gateway.own_biz() == {
        "merchant_order_sn": "M1", "auth_code": "134567890123450001",
        "total_amount": Decimal("0.03"),
    }  # fmt: skip
    first_key = next(iter(gateway.biz()))
    assert first_key == ("merchant_id" if level == "vendor" else "merchant_order_sn")

    created = await client.create(
        CreateOrderRequest(merchant_order_sn="C1", pay_type="wxpay", user_id="o", total_fen=3)
    )
    assert created.sign_package is not None
    assert created.sign_package.package == f"prepay_id={created.prepay_id}"
    assert (await client.query(OrderQueryRequest(ins_order_sn="I1"))).ins_order_sn == "I1"
    assert gateway.own_biz() == {"ins_order_sn": "I1"}
    closed = await client.close_order(CloseRequest(merchant_order_sn="C1"))
    assert closed.order_status is OrderStatus.CLOSED
    refund = await client.refund(
        RefundRequest(order_sn="1", merchant_refund_sn="R1", refund_amount="0.01")
    )
    assert (refund.refund_status, refund.refund_amount_fen) == (RefundStatus.REFUND_PROCESSING, 1)
    settled = await client.refund_query(RefundQueryRequest(refund_sn="9"))
    assert settled.is_settled and settled.finish_time is not None
    qr = await client.qrcode(QrcodeOrderRequest(merchant_order_sn="Q1", total_fen=5))
    assert qr.content == "http://gw.test/qr/3"
    fixed = await client.fixed_qrcode(FixedQrcodeRequest(merchant_order_sn="F1", total_fen=5))
    assert fixed.qrcode_url == "http://gw.test/qr/f"
    wap = await client.wap_create(WapOrderRequest(merchant_order_sn="W1", total_fen=5))
    assert wap.html == "<form></form>"
    config = await client.callback_config(CallbackConfigRequest(callback_url="https://m.test/n"))
    assert config.is_bound
    raw = await client.call("fbpay.order.query", {"order_sn": "1"}, safe_to_retry=True)
    assert raw["order_status"] == "SUCCESS"
    methods = [params["method"] for params in gateway.requests]
    assert methods == [
        "fbpay.order.pay", "fbpay.order.create", "fbpay.order.query", "fbpay.order.close",
        "fbpay.order.refund", "fbpay.order.refund.query", "fbpay.order.qrcode",
        "fbpay.fixed.qrcode.create", "fbpay.order.wap.create", "fbpay.pay.callback.config",
        "fbpay.order.query",
    ]  # fmt: skip
    scoped = [gateway.biz(i).get("merchant_id") for i in range(len(methods))]
    assert scoped == [MERCHANT_ID if level == "vendor" else None] * len(methods)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_vendor_acting_for_another_merchant_gets_merchant_not_found(kind: Kind) -> None:
    gateway = FakeAgentGateway("vendor_sn", VENDOR_SECRET)
    async with open_v2_client(
        kind, credentials_for("vendor"), "http://gw.test", transport=httpx.MockTransport(gateway)
    ) as client:
        with pytest.raises(MerchantNotFound) as caught:
            await client.query(OrderQueryRequest(merchant_id=1, order_sn="1"))
    assert (caught.value.result_code, caught.value.result_message) == (1004, "商户不存在")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_vendor_without_a_merchant_sends_nothing(kind: Kind) -> None:
    gateway = FakeAgentGateway("vendor_sn", VENDOR_SECRET)
    async with open_v2_client(
        kind,
        VendorCredentials(VENDOR_SN, VENDOR_SECRET),
        "http://gw.test",
        transport=httpx.MockTransport(gateway),
    ) as client:
        with pytest.raises(ValueError, match="merchant_id"):
            await client.query(OrderQueryRequest(order_sn="1"))
    assert gateway.requests == []


async def test_a_wrong_secret_is_signature_rejected(kind: Kind, level: Level) -> None:
    gateway = FakeAgentGateway(
        "vendor_sn" if level == "vendor" else "app_id", "f" * 32
    )  # the gateway knows another secret
    async with open_v2_client(
        kind, credentials_for(level), "http://gw.test", transport=httpx.MockTransport(gateway)
    ) as client:
        with pytest.raises(SignatureRejected):
            await client.query(OrderQueryRequest(order_sn="1"))


async def test_retries_replay_the_same_bytes_and_an_unsafe_refund_is_not_retried(
    client: V2Api, gateway: FakeAgentGateway
) -> None:
    busy: Failure = lambda request: httpx.Response(503, content=b"busy")  # noqa: E731
    gateway.failures = [busy, busy]
    order = await client.query(OrderQueryRequest(order_sn="1"))
    assert order.order_sn == "20240101000000000001"
    assert len(gateway.requests) == 3
    assert gateway.requests[0] == gateway.requests[1] == gateway.requests[2]

    gateway.failures = [busy]
    with pytest.raises(TransportError):
        await client.refund(RefundRequest(order_sn="1", refund_fen=1))  # no merchant_refund_sn
    assert len(gateway.requests) == 4


async def test_an_unknown_order_status_is_an_invalid_response(kind: Kind) -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        data = json.loads(ORDER)
        return answer({"result_code": 200, "result_message": "成功",
                       "data": {**data, "order_status": "PAID"}})  # fmt: skip

    async with open_v2_client(
        kind, credentials_for("merchant"), "http://gw.test", transport=httpx.MockTransport(odd)
    ) as client:
        with pytest.raises(InvalidResponse, match="order_status"):
            await client.query(OrderQueryRequest(order_sn="1"))
