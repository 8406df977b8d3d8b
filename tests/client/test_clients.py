"""One behavioural suite, run against both the sync and the async client (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from jubao.client import (
    ApiError,
    CloseRequest,
    InvalidResponse,
    MinaRequest,
    OrderQueryRequest,
    RefundQueryRequest,
    RefundRequest,
    RefundStatisticsRequest,
    SignatureRejected,
    TransportError,
)
from tests.client.adapters import KINDS, Kind, MerchantApi, open_client
from tests.support.fubei import md5_sign

APP_ID = "20240101000000000042"
SECRET = "0123456789abcdef0123456789abcdef"

SIGN_PARAMS = {
    "appId": "wxsub", "timeStamp": "1700000000", "nonceStr": "abc", "package": "prepay_id=wx1",
    "signType": "RSA", "paySign": "c2lnbmF0dXJl",
}  # fmt: skip
ANSWERS: dict[str, str] = {
    "openapi.payment.order.mina": json.dumps(
        {
            "prepay_id": "wx1",
            "order_sn": "20240101000000000001",
            "merchant_order_sn": "M1",
            "sign_params": SIGN_PARAMS,
            "store_id": 5,
            "cashier_id": 0,
            "user_id": "o1",
        }
    ),
    "openapi.payment.order.query": (
        '{"merchant_order_sn":"M1","order_sn":"20240101000000000001","trade_state":"SUCCESS",'
        '"total_fee":0.03,"fee":0.00,"net_money":0.03,"platform_order_no":"4200","pay_time":1,'
        '"type":1,"brand_new_field":true}'
    ),
    "openapi.payment.order.close": '{"merchant_order_sn":"M1","order_sn":"1"}',
    "openapi.payment.order.refund": (
        '{"order_sn":"1","merchant_order_sn":"M1","trade_no":"1","refund_sn":"9",'
        '"merchant_refund_sn":"R1","refund_money":0.01,"refund_status":"REFUND_PROCESSING",'
        '"refund_time":0}'
    ),
    "openapi.payment.order.refund.query": (
        '{"order_sn":"1","refund_sn":"9","refund_money":0.01,"refund_status":"REFUND_SUCCESS",'
        '"refund_time":1704067200}'
    ),
    "openapi.payment.refund.statistics": (
        '{"order_sn":"1","merchant_order_sn":"M1","total_fee":0.03,"refund_num":1,'
        '"refund_money":0.01,"can_refund":0.02}'
    ),
    "openapi.get.time": '{"time":"1704067200"}',
}

Failure = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeGateway:
    """Verifies every request's sign with an independent MD5, then answers; ``failures`` are
    served first, one per request."""

    failures: list[Failure] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/gateway"
        assert request.headers["content-type"].startswith("application/json")
        params: dict[str, str] = json.loads(request.content)
        self.requests.append(params)
        if self.failures:
            return self.failures.pop(0)(request)
        if params["sign"] != md5_sign(params, SECRET):
            return envelope(
                {"result_code": 400, "result_message": "签名验证失败", "sub_code": "SIGN_ERROR"}
            )
        data = ANSWERS[params["method"]]
        return httpx.Response(
            200,
            content=f'{{"result_code":200,"result_message":"成功","data":{data}}}'.encode(),
            headers={"Content-Type": "application/json;charset=UTF-8"},
        )

    def biz(self, index: int = -1) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(
            self.requests[index]["biz_content"], parse_float=Decimal
        )
        return decoded


def envelope(payload: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(payload, ensure_ascii=False).encode())


def status(code: int, body: bytes = b"<html>busy</html>") -> Failure:
    return lambda request: httpx.Response(code, content=body)


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> Kind:
    chosen: Kind = request.param
    return chosen


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
async def client(kind: Kind, gateway: FakeGateway) -> AsyncIterator[MerchantApi]:
    async with open_client(
        kind,
        app_id=APP_ID,
        app_secret=SECRET,
        base_url="http://gw.test",
        transport=httpx.MockTransport(gateway),
    ) as opened:
        yield opened


QUERY = OrderQueryRequest(merchant_order_sn="M1")


# ---- every method ---------------------------------------------------------------------------


async def test_mina(client: MerchantApi, gateway: FakeGateway) -> None:
    response = await client.mina(
        MinaRequest(
            merchant_order_sn="M1", sub_openid="o1", store_id=5, total_fee=Decimal("0.03"),
            body="测试商品", call_back_url="https://merchant.test/notify",
        )
    )  # fmt: skip
    assert response.order_sn == "20240101000000000001"
    assert response.sign_params.as_dict() == SIGN_PARAMS
    sent = gateway.requests[0]
    assert sent["app_id"] == APP_ID
    assert sent["method"] == "openapi.payment.order.mina"
    assert '"total_fee":0.03' in sent["biz_content"]
    assert gateway.biz() == {
        "merchant_order_sn": "M1", "sub_openid": "o1", "total_fee": Decimal("0.03"),
        "store_id": 5, "body": "测试商品", "call_back_url": "https://merchant.test/notify",
    }  # fmt: skip


async def test_query(client: MerchantApi, gateway: FakeGateway) -> None:
    order = await client.query(QUERY)
    assert order.trade_state == "SUCCESS"
    assert order.total_fee == Decimal("0.03")
    assert order.platform_order_no == "4200"
    assert gateway.biz() == {"merchant_order_sn": "M1"}


async def test_close_refund_refund_query_statistics_time(
    client: MerchantApi, gateway: FakeGateway
) -> None:
    closed = await client.close_order(CloseRequest(order_sn="1"))
    assert closed.merchant_order_sn == "M1"
    refund = await client.refund(
        RefundRequest(order_sn="1", merchant_refund_sn="R1", refund_money="0.01")
    )
    assert (refund.refund_sn, refund.refund_status, refund.refund_money_fen) == (
        "9", "REFUND_PROCESSING", 1,
    )  # fmt: skip
    assert gateway.biz() == {
        "order_sn": "1", "merchant_refund_sn": "R1", "refund_money": Decimal("0.01"),
    }  # fmt: skip
    settled = await client.refund_query(RefundQueryRequest(order_sn="1", refund_sn="9"))
    assert settled.refund_status == "REFUND_SUCCESS"
    assert settled.refunded_at is not None
    stats = await client.refund_statistics(RefundStatisticsRequest(order_sn="1"))
    assert (stats.refund_num, stats.can_refund) == (1, Decimal("0.02"))
    assert (await client.get_time()).time == "1704067200"
    assert gateway.biz() == {}
    methods = [params["method"] for params in gateway.requests]
    assert methods == [
        "openapi.payment.order.close", "openapi.payment.order.refund",
        "openapi.payment.order.refund.query", "openapi.payment.refund.statistics",
        "openapi.get.time",
    ]  # fmt: skip


async def test_call_any_method_by_name(client: MerchantApi, gateway: FakeGateway) -> None:
    data = await client.call("openapi.get.time", {})
    assert data == {"time": "1704067200"}


async def test_a_full_gateway_url_is_accepted(kind: Kind, gateway: FakeGateway) -> None:
    async with open_client(
        kind, app_id=APP_ID, app_secret=SECRET, base_url="http://gw.test/gateway",
        transport=httpx.MockTransport(gateway),
    ) as opened:  # fmt: skip
        assert (await opened.get_time()).time == "1704067200"


# ---- errors ---------------------------------------------------------------------------------


async def test_business_failure_is_an_api_error_and_not_retried(
    client: MerchantApi, gateway: FakeGateway
) -> None:
    gateway.failures.append(
        lambda request: envelope(
            {"result_code": 400, "result_message": "订单不存在", "sub_code": "ORDER_NOT_FOUND"}
        )
    )
    with pytest.raises(ApiError) as caught:
        await client.query(QUERY)
    assert (caught.value.result_code, caught.value.sub_code) == (400, "ORDER_NOT_FOUND")
    assert caught.value.result_message == "订单不存在"
    assert len(gateway.requests) == 1


async def test_a_wrong_secret_is_signature_rejected(kind: Kind, gateway: FakeGateway) -> None:
    async with open_client(
        kind, app_id=APP_ID, app_secret="not-the-secret", base_url="http://gw.test",
        transport=httpx.MockTransport(gateway),
    ) as opened:  # fmt: skip
        with pytest.raises(SignatureRejected):
            await opened.get_time()


@pytest.mark.parametrize(
    "body", [b"<!DOCTYPE html><html>oops</html>", b"\x00\x01garbage", b'{"result_code":200}']
)
async def test_unparseable_answers_are_invalid_response(
    client: MerchantApi, gateway: FakeGateway, body: bytes
) -> None:
    gateway.failures.append(status(200, body))
    with pytest.raises(InvalidResponse):
        await client.query(QUERY)
    assert len(gateway.requests) == 1


# ---- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [status(503), status(502), connect_error, read_timeout])
async def test_query_is_retried_after_5xx_and_transport_errors(
    client: MerchantApi, gateway: FakeGateway, failure: Failure
) -> None:
    gateway.failures += [failure, failure]
    order = await client.query(QUERY)
    assert order.order_sn == "20240101000000000001"
    assert len(gateway.requests) == 3
    assert len({params["nonce"] for params in gateway.requests}) == 1  # the same request, replayed


async def test_retries_run_out(client: MerchantApi, gateway: FakeGateway) -> None:
    gateway.failures += [connect_error] * 5
    with pytest.raises(TransportError, match="ConnectError"):
        await client.query(QUERY)
    assert len(gateway.requests) == 3  # 1 + retries=2


@pytest.mark.parametrize("failure", [status(503), connect_error, read_timeout])
async def test_refund_without_merchant_refund_sn_is_never_retried(
    client: MerchantApi, gateway: FakeGateway, failure: Failure
) -> None:
    gateway.failures.append(failure)
    with pytest.raises(TransportError):
        await client.refund(RefundRequest(order_sn="1", refund_money="0.01"))
    assert len(gateway.requests) == 1


async def test_refund_with_merchant_refund_sn_is_retried(
    client: MerchantApi, gateway: FakeGateway
) -> None:
    gateway.failures.append(read_timeout)
    refund = await client.refund(RefundRequest(order_sn="1", merchant_refund_sn="R1"))
    assert refund.merchant_refund_sn == "R1"
    assert len(gateway.requests) == 2


async def test_mina_is_retried_because_merchant_order_sn_protects_it(
    client: MerchantApi, gateway: FakeGateway
) -> None:
    gateway.failures.append(status(504))
    request = MinaRequest(merchant_order_sn="M1", sub_openid="o1", store_id=5, total_fen=3)
    assert (await client.mina(request)).merchant_order_sn == "M1"
    assert len(gateway.requests) == 2


async def test_raw_call_is_not_retried_unless_declared_safe(
    client: MerchantApi, gateway: FakeGateway
) -> None:
    gateway.failures += [status(503), status(503)]
    with pytest.raises(TransportError) as caught:
        await client.call("openapi.get.time", {})
    assert caught.value.status_code == 503
    assert await client.call("openapi.get.time", {}, safe_to_retry=True) == {"time": "1704067200"}
    assert len(gateway.requests) == 3


async def test_no_retries_when_retries_is_zero(kind: Kind, gateway: FakeGateway) -> None:
    gateway.failures.append(connect_error)
    async with open_client(
        kind, app_id=APP_ID, app_secret=SECRET, base_url="http://gw.test", retries=0,
        transport=httpx.MockTransport(gateway),
    ) as opened:  # fmt: skip
        with pytest.raises(TransportError):
            await opened.query(QUERY)
    assert len(gateway.requests) == 1


def test_both_clients_offer_the_same_methods() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_")}

    from jubao.client import AsyncJubaoClient, JubaoClient

    assert public(JubaoClient) - {"close"} == public(AsyncJubaoClient) - {"aclose"}
    assert {"mina", "query", "close_order", "refund", "refund_query"} <= public(JubaoClient)
