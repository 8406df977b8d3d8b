"""Unknown outcomes and refusals: injected faults, wrong keys, timeouts, and answers crafted at
the transport seam (signed in the test with ``cryptography`` directly)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jubao.channels.alipay import AlipayChannel
from jubao.channels.base import ChannelBinding, ImmediateOutcome, TradeStatus
from jubao.errors import ChannelError, ChannelErrorKind, ChannelUnavailable
from jubao.kinds import ChannelName, Scene
from tests.alipay.support import (
    MERCHANT_PID,
    World,
    channel_config,
    payment_code,
    sandbox_keys,
)


@pytest.mark.parametrize("kind", ["unavailable", "system_error", "limited", "http_500", "bad_sign"])
async def test_injected_faults_are_unknown_outcomes(alipay: World, kind: str) -> None:
    status, _ = await alipay.control(
        "POST", "/control/faults", kind=kind, count=1, method="alipay.trade.pay"
    )
    assert status == 200
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code())
    with pytest.raises(ChannelUnavailable):
        await alipay.channel.create_payment(request)
    # The fault was spent on that call: the next call to the method goes through.
    outcome = await alipay.channel.create_payment(
        alipay.payment(Scene.BARCODE, auth_code=payment_code())
    )
    assert isinstance(outcome, ImmediateOutcome)


async def test_a_slow_gateway_times_out(alipay: World) -> None:
    await alipay.control("POST", "/control/behaviour", latency_ms=600)
    impatient = AlipayChannel(channel_config(alipay.base_url + "/gateway.do", timeout=0.2))
    try:
        with pytest.raises(ChannelUnavailable):
            await impatient.query(alipay.binding, "2026000000000000")
    finally:
        await impatient.aclose()


async def test_answers_signed_by_another_key_are_not_trusted(alipay: World) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    stranger_pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    wary = AlipayChannel(
        channel_config(alipay.base_url + "/gateway.do", alipay_public_key=stranger_pem)
    )
    try:
        with pytest.raises(ChannelUnavailable):
            await wary.create_payment(alipay.payment(Scene.NATIVE))
    finally:
        await wary.aclose()


async def test_a_request_signed_with_the_wrong_key_is_refused(alipay: World) -> None:
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = wrong.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    forger = AlipayChannel(channel_config(alipay.base_url + "/gateway.do", app_private_key=pkcs8))
    try:
        with pytest.raises(ChannelError) as caught:
            await forger.create_payment(alipay.payment(Scene.NATIVE))
    finally:
        await forger.aclose()
    assert (caught.value.kind, caught.value.sub_code) == (
        ChannelErrorKind.REJECTED,
        "isv.invalid-signature",
    )


async def test_an_unknown_app_is_answered_unsigned(alipay: World) -> None:
    other = AlipayChannel(
        channel_config(alipay.base_url + "/gateway.do", app_id="2021999999999999")
    )
    try:
        with pytest.raises(ChannelUnavailable):
            await other.query(alipay.binding, "2026000000000000")
    finally:
        await other.aclose()


async def test_an_unknown_app_auth_token_is_refused(alipay: World) -> None:
    stranger = ChannelBinding(ChannelName.ALIPAY, MERCHANT_PID, auth_token="not-a-token")
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.query(stranger, "2026000000000000")
    assert caught.value.sub_code == "aop.invalid-app-auth-token"


async def test_the_gateway_unreachable(alipay: World) -> None:
    gone = AlipayChannel(channel_config("http://127.0.0.1:9/gateway.do", timeout=1.0))
    try:
        with pytest.raises(ChannelUnavailable):
            await gone.query(alipay.binding, "2026000000000000")
    finally:
        await gone.aclose()


# ---- crafted answers at the transport seam -------------------------------------------------------

BINDING = ChannelBinding(ChannelName.ALIPAY, MERCHANT_PID, auth_token="token")
KEY = "alipay_trade_query_response"


def _alipay_sign(text: bytes) -> str:
    key = serialization.load_pem_private_key(
        sandbox_keys().alipay_private_key.encode(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(text, padding.PKCS1v15(), hashes.SHA256())).decode()


def _channel(answer: Callable[[httpx.Request], httpx.Response]) -> AlipayChannel:
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return AlipayChannel(channel_config("https://openapi.example/gateway.do"), http_client=client)


def _query_answer(inner: bytes, signed_over: bytes | None = None) -> httpx.Response:
    sign = _alipay_sign(signed_over if signed_over is not None else inner)
    body = b'{"' + KEY.encode() + b'": ' + inner + b' ,\n "sign":"' + sign.encode() + b'"}'
    return httpx.Response(200, content=body, headers={"Content-Type": "text/html;charset=utf-8"})


INNER = (
    '{ "code":"10000", "msg":"Success", "trade_no":"2026010122001400000000000001",'
    ' "out_trade_no":"20260101000001", "trade_status":"TRADE_SUCCESS",'
    ' "total_amount":"%s", "subject":"括号 {不成对 \\"引号\\" \\/ 斜杠",'
    ' "send_pay_date":"2026-01-01 12:00:00", "buyer_user_id":"2088102177846880" }'
)


async def test_the_exact_bytes_of_the_answer_are_verified() -> None:
    inner = (INNER % "12.30").encode()
    channel = _channel(lambda request: _query_answer(inner))
    try:
        trade = await channel.query(BINDING, "20260101000001")
    finally:
        await channel.aclose()
    assert (trade.status, trade.total_fen, trade.payer_id) == (
        TradeStatus.PAID,
        1230,
        "2088102177846880",
    )
    assert trade.success_time is not None and trade.success_time.utcoffset() is not None


async def test_a_signature_over_a_reserialised_answer_fails() -> None:
    inner = (INNER % "12.30").encode()
    reserialised = json.dumps(json.loads(inner), separators=(",", ":")).encode()
    channel = _channel(lambda request: _query_answer(inner, signed_over=reserialised))
    try:
        with pytest.raises(ChannelUnavailable):
            await channel.query(BINDING, "20260101000001")
    finally:
        await channel.aclose()


@pytest.mark.parametrize("amount", ["12.345", "1e3", "-1.00", "十元", ""])
async def test_a_malformed_amount_from_alipay_is_an_unknown_outcome(amount: str) -> None:
    inner = (INNER % amount).encode()
    channel = _channel(lambda request: _query_answer(inner))
    try:
        with pytest.raises(ChannelUnavailable):
            await channel.query(BINDING, "20260101000001")
    finally:
        await channel.aclose()


async def test_a_repeated_response_member_is_refused() -> None:
    inner = (INNER % "12.30").encode()

    def answer(request: httpx.Request) -> httpx.Response:
        signed = _query_answer(inner).content
        return httpx.Response(200, content=signed[:-1] + b',"' + KEY.encode() + b'":{}}')

    channel = _channel(answer)
    try:
        with pytest.raises(ChannelUnavailable):
            await channel.query(BINDING, "20260101000001")
    finally:
        await channel.aclose()


async def test_an_answer_for_another_trade_is_refused() -> None:
    inner = (INNER % "12.30").encode()
    channel = _channel(lambda request: _query_answer(inner))
    try:
        with pytest.raises(ChannelUnavailable):
            await channel.query(BINDING, "20260101000002")
    finally:
        await channel.aclose()


async def test_the_request_carries_the_java_sdk_shape() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _query_answer((INNER % "12.30").encode())

    channel = _channel(answer)
    try:
        await channel.query(BINDING, "20260101000001")
    finally:
        await channel.aclose()
    (request,) = seen
    assert request.method == "POST"
    query = dict(request.url.params)
    assert {"app_id", "method", "charset", "sign_type", "sign", "timestamp", "version"} <= set(
        query
    )
    assert (query["method"], query["sign_type"], query["charset"]) == (
        "alipay.trade.query",
        "RSA2",
        "utf-8",
    )
    body = dict(httpx.QueryParams(request.content.decode()))
    assert body["app_auth_token"] == "token"
    assert json.loads(body["biz_content"]) == {"out_trade_no": "20260101000001"}
