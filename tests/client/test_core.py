"""The sans-IO core: request building and signing, answer parsing, retry decisions."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest

from jubao.client import (
    ApiError,
    InvalidResponse,
    MinaRequest,
    OrderQueryRequest,
    RefundRequest,
    SignatureRejected,
    TransportError,
)
from jubao.client import operations as ops
from jubao.client.core import ClientCore, Done, Retry, RetryPolicy, gateway_url, parse_answer
from jubao.protocol import methods as server_methods
from tests.support.fubei import md5_sign

V1_APP_ID = "20170609152021917511"
V1_SECRET = "672f295578a545c24b397bae275e6f81"


def core(nonce: str = "87sdf9806sdf73jkds", retries: int = 2) -> ClientCore:
    return ClientCore(
        V1_APP_ID, V1_SECRET, "http://gw.test", RetryPolicy(retries, 0.1), nonce=lambda: nonce
    )


def sent(prepared_body: bytes) -> dict[str, str]:
    params: dict[str, str] = json.loads(prepared_body)
    return params


def test_vector_v1_signature_matches_the_reference() -> None:
    operation = ops.raw_call(
        "openapi.payment.order.close", {"merchant_order_sn": "28867994"}, safe_to_retry=True
    )
    params = sent(core().prepare(operation).body)
    assert params["biz_content"] == '{"merchant_order_sn":"28867994"}'
    assert params["sign"] == "C0A8CDE6A5F975E24FACAC48DF03701F"


def test_sign_is_an_independent_md5_over_every_sent_parameter() -> None:
    request = MinaRequest(
        merchant_order_sn="M1", sub_openid="o1", store_id=7, total_fee="0.10", body="测试商品"
    )
    params = sent(core(nonce="n0nce").prepare(ops.mina(request)).body)
    assert set(params) == {
        "app_id", "method", "format", "sign_method", "nonce", "version", "biz_content", "sign",
    }  # fmt: skip
    base = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "sign")
    expected = hashlib.md5((base + V1_SECRET).encode("utf-8")).hexdigest().upper()
    assert params["sign"] == expected == md5_sign(params, V1_SECRET)
    assert params["method"] == "openapi.payment.order.mina"
    assert params["nonce"] == "n0nce"


def test_amounts_are_sent_as_exact_json_numbers_and_text_stays_utf8() -> None:
    request = MinaRequest(
        merchant_order_sn="M1", sub_openid="o1", store_id=7, total_fen=10, body="测试"
    )
    biz = sent(core().prepare(ops.mina(request)).body)["biz_content"]
    assert '"total_fee":0.10' in biz
    assert "测试" in biz
    assert json.loads(biz, parse_float=Decimal)["total_fee"] == Decimal("0.10")


def test_nonce_defaults_to_a_fresh_random_value() -> None:
    client_core = ClientCore("a", "s", "http://x", RetryPolicy())
    operation = ops.get_time()
    first = sent(client_core.prepare(operation).body)["nonce"]
    second = sent(client_core.prepare(operation).body)["nonce"]
    assert first != second
    assert len(first) == 32


def test_the_secret_is_never_sent_nor_shown() -> None:
    client_core = core()
    prepared = client_core.prepare(ops.get_time())
    assert V1_SECRET.encode() not in prepared.body
    assert V1_SECRET not in repr(client_core)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:8600", "http://127.0.0.1:8600/gateway"),
        ("http://127.0.0.1:8600/", "http://127.0.0.1:8600/gateway"),
        ("https://pay.example/gateway", "https://pay.example/gateway"),
        ("https://pay.example/api/", "https://pay.example/api/gateway"),
    ],
)
def test_gateway_url(base: str, url: str) -> None:
    assert gateway_url(base) == url


def test_gateway_url_refuses_a_non_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        gateway_url("127.0.0.1:8600")


def test_method_names_agree_with_the_protocol_package() -> None:
    ours = {ops.MINA, ops.QUERY, ops.CLOSE, ops.REFUND, ops.REFUND_QUERY}
    ours |= {ops.REFUND_STATISTICS, ops.GET_TIME}
    assert ours == set(server_methods.METHODS)


MINA_REQUEST = MinaRequest(merchant_order_sn="m", sub_openid="o", store_id=1, total_fen=1)

# ---- retry policy --------------------------------------------------------------------------


def test_retry_policy_backs_off_exponentially_then_gives_up() -> None:
    policy = RetryPolicy(retries=2, backoff=0.2)
    query = ops.query(OrderQueryRequest(order_sn="1"))
    assert [policy.delay(attempt, query) for attempt in (1, 2, 3)] == [0.2, 0.4, None]


@pytest.mark.parametrize(
    ("operation", "safe"),
    [
        (ops.query(OrderQueryRequest(order_sn="1")), True),
        (ops.get_time(), True),
        (ops.mina(MINA_REQUEST), True),
        (ops.refund(RefundRequest(order_sn="1", merchant_refund_sn="r1")), True),
        (ops.refund(RefundRequest(order_sn="1")), False),
        (ops.raw_call("openapi.x", {}, safe_to_retry=False), False),
    ],
)  # fmt: skip
def test_which_operations_are_safe_to_retry(operation: ops.Operation[Any], safe: bool) -> None:
    assert operation.safe_to_retry is safe
    assert (RetryPolicy(retries=1).delay(1, operation) is not None) is safe


def test_exchange_retries_5xx_and_transport_errors_until_exhausted() -> None:
    exchange = core(retries=2).start(ops.get_time())
    assert exchange.received(503, b"<html>busy</html>") == Retry(0.1)
    assert exchange.failed(OSError("reset")) == Retry(0.2)
    with pytest.raises(TransportError) as caught:
        exchange.received(502, b"")
    assert caught.value.status_code == 502
    assert exchange.attempts == 3


def test_exchange_never_retries_an_unsafe_operation() -> None:
    exchange = core(retries=5).start(ops.refund(RefundRequest(order_sn="1")))
    with pytest.raises(TransportError, match="timed out"):
        exchange.failed(TimeoutError("timed out"))
    assert exchange.attempts == 1


def test_exchange_returns_the_typed_result() -> None:
    exchange = core().start(ops.get_time())
    answer = b'{"result_code":200,"result_message":"\xe6\x88\x90\xe5\x8a\x9f","data":{"time":"17"}}'
    step = exchange.received(200, answer)
    assert isinstance(step, Done)
    assert step.value.time == "17"


# ---- answers -------------------------------------------------------------------------------


def answer(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def test_failure_envelope_becomes_api_error_with_all_fields() -> None:
    body = answer(
        {"result_code": 400, "result_message": "订单不存在", "sub_code": "ORDER_NOT_FOUND"}
    )
    with pytest.raises(ApiError) as caught:
        parse_answer(ops.get_time(), 200, body)
    assert (caught.value.result_code, caught.value.sub_code) == (400, "ORDER_NOT_FOUND")
    assert caught.value.result_message == "订单不存在"
    assert type(caught.value) is ApiError


def test_sign_error_becomes_signature_rejected() -> None:
    body = answer({"result_code": 400, "result_message": "签名验证失败", "sub_code": "SIGN_ERROR"})
    with pytest.raises(SignatureRejected) as caught:
        parse_answer(ops.get_time(), 200, body)
    assert caught.value.sub_code == "SIGN_ERROR"


def test_failure_without_sub_code_still_is_an_api_error() -> None:
    with pytest.raises(ApiError) as caught:
        parse_answer(ops.get_time(), 200, answer({"result_code": 9996, "result_message": "x"}))
    assert (caught.value.result_code, caught.value.sub_code) == (9996, "")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html><body>502 Bad Gateway</body></html>"),
        (200, b"\xff\xfe garbage"),
        (200, b"[1, 2]"),
        (200, b'{"result_message": "no code"}'),
        (200, b'{"result_code": 200, "result_message": "ok"}'),
        (200, b'{"result_code": 200, "data": [1]}'),
        (200, b'{"result_code": 200, "data": {"time": {"nested": 1}}}'),
        (404, b"Not Found"),
    ],
)
def test_unusable_answers_are_invalid_response_not_api_errors(status: int, body: bytes) -> None:
    with pytest.raises(InvalidResponse):
        parse_answer(ops.get_time(), status, body)


def test_a_missing_required_field_is_an_invalid_response() -> None:
    body = answer({"result_code": 200, "data": {"order_sn": "1", "trade_state": "SUCCESS"}})
    with pytest.raises(InvalidResponse, match="merchant_order_sn"):
        parse_answer(ops.query(OrderQueryRequest(order_sn="1")), 200, body)
