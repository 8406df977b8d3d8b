"""The official ``alipay-sdk-python`` against the simulator, with only its server URL set: it
signs the requests and verifies the simulator's signatures with its own code (``rsa``).

The SDK cannot reach a URL with a port (it adds the int port to a str) and sends an absolute-form
target; its connection factory, resolved at call time, is replaced by one that connects to the
simulator's loopback port: a seam at the transport only."""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from alipay.aop.api import DefaultAlipayClient as sdk_client  # type: ignore[import-untyped]
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig  # type: ignore[import-untyped]
from alipay.aop.api.domain.AlipayTradeCreateModel import (  # type: ignore[import-untyped]
    AlipayTradeCreateModel,
)
from alipay.aop.api.domain.AlipayTradeQueryModel import (  # type: ignore[import-untyped]
    AlipayTradeQueryModel,
)
from alipay.aop.api.domain.AlipayTradeRefundModel import (  # type: ignore[import-untyped]
    AlipayTradeRefundModel,
)
from alipay.aop.api.exception.Exception import ResponseException  # type: ignore[import-untyped]
from alipay.aop.api.request.AlipayTradeCreateRequest import (  # type: ignore[import-untyped]
    AlipayTradeCreateRequest,
)
from alipay.aop.api.request.AlipayTradeQueryRequest import (  # type: ignore[import-untyped]
    AlipayTradeQueryRequest,
)
from alipay.aop.api.request.AlipayTradeRefundRequest import (  # type: ignore[import-untyped]
    AlipayTradeRefundRequest,
)
from alipay.aop.api.util import WebUtils  # type: ignore[import-untyped]

from tests.alipay.support import (
    ISV_APP_ID,
    MERCHANT_TOKEN,
    World,
    new_out_trade_no,
    sandbox_keys,
)

BUYER = "2088102177846880"


def _bare(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


@pytest.fixture
def loopback_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_http_connection(url: str, query_string: str, timeout: float) -> tuple[str, Any]:
        parts = urlsplit(url)
        assert parts.hostname is not None
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        return f"{parts.path}?{query_string}", connection

    monkeypatch.setattr(WebUtils, "get_http_connection", get_http_connection)


def _client(alipay: World, alipay_public_key: str | None = None) -> Any:
    config = AlipayClientConfig()
    config.server_url = alipay.base_url + "/gateway.do"
    config.app_id = ISV_APP_ID
    config.app_private_key = _bare(sandbox_keys().app_private_key)  # PKCS#1, as the SDK wants
    config.alipay_public_key = alipay_public_key or sandbox_keys().alipay_public_key
    return sdk_client.DefaultAlipayClient(alipay_client_config=config)


async def _execute(client: Any, request: Any) -> dict[str, Any]:
    request.add_other_text_param("app_auth_token", MERCHANT_TOKEN)
    # The SDK is synchronous; the simulator serves on this event loop.
    answer: dict[str, Any] = json.loads(await asyncio.to_thread(client.execute, request))
    return answer


@pytest.mark.usefixtures("loopback_connections")
async def test_create_pay_query_and_refund_with_the_official_sdk(alipay: World) -> None:
    client = _client(alipay)
    out_trade_no = new_out_trade_no()

    create = AlipayTradeCreateRequest()
    model = AlipayTradeCreateModel()
    model.out_trade_no = out_trade_no
    model.total_amount = "88.88"
    model.subject = "测试 {商品} & 服务 = 好/坏"  # braces, & and = inside the signed JSON
    model.buyer_id = BUYER
    model.product_code = "JSAPI_PAY"
    create.biz_model = model
    create.notify_url = alipay.notify_url + "?a=1&b=2"
    created = await _execute(client, create)
    assert (created["code"], created["out_trade_no"]) == ("10000", out_trade_no)
    trade_no = created["trade_no"]

    status, paid = await alipay.control("POST", "/payer/trade-pay", trade_no=trade_no, buyer=BUYER)
    assert (status, paid["resultCode"]) == (200, "9000")

    query = AlipayTradeQueryRequest()
    query_model = AlipayTradeQueryModel()
    query_model.trade_no = trade_no
    query.biz_model = query_model
    queried = await _execute(client, query)
    assert (queried["trade_status"], queried["total_amount"], queried["buyer_user_id"]) == (
        "TRADE_SUCCESS",
        "88.88",
        BUYER,
    )
    assert queried["subject"] == model.subject

    refund = AlipayTradeRefundRequest()
    refund_model = AlipayTradeRefundModel()
    refund_model.out_trade_no = out_trade_no
    refund_model.refund_amount = "8.88"
    refund_model.out_request_no = "R1"
    refund.biz_model = refund_model
    refunded = await _execute(client, refund)
    assert (refunded["code"], refunded["fund_change"], refunded["refund_fee"]) == (
        "10000",
        "Y",
        "8.88",
    )


@pytest.mark.usefixtures("loopback_connections")
async def test_business_errors_reach_the_sdk_signed(alipay: World) -> None:
    query = AlipayTradeQueryRequest()
    query_model = AlipayTradeQueryModel()
    query_model.out_trade_no = new_out_trade_no()
    query.biz_model = query_model
    answer = await _execute(_client(alipay), query)
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")


@pytest.mark.usefixtures("loopback_connections")
async def test_the_sdk_refuses_answers_it_cannot_verify(alipay: World) -> None:
    wrong = _bare(sandbox_keys().app_public_key)  # not the simulator's key
    query = AlipayTradeQueryRequest()
    query_model = AlipayTradeQueryModel()
    query_model.out_trade_no = new_out_trade_no()
    query.biz_model = query_model
    with pytest.raises(ResponseException, match="verify"):
        await _execute(_client(alipay, alipay_public_key=wrong), query)
