"""The channel against a fake WeChat behind ``httpx.MockTransport``: every request's signature
is rebuilt and verified by the fake, every answer is signed by the fake's platform key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao import __version__
from jubao.channels.base import (
    Channel,
    ChannelBinding,
    PaymentRequest,
    RefundRequest,
    RefundStatus,
    TradeStatus,
)
from jubao.channels.wechatpay import WechatPayChannel
from jubao.errors import ChannelError, ChannelUnavailable
from jubao.kinds import ChannelName, Scene
from tests.channels.wechatpay_fake import (
    NOW_TS,
    PUB_KEY_ID,
    SP_APPID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    FakeWechat,
    paid_transaction,
    refund_doc,
    rsa_verify,
)
from tests.support.recording import ok, recording

BINDING = ChannelBinding(ChannelName.WECHATPAY, SUB_MCHID, SUB_APPID)
PREFIX_URL = "http://127.0.0.1:8600/sim/wechatpay"


@pytest.fixture(scope="module")
def wechat() -> FakeWechat:
    return FakeWechat.create()


def prepay_request(**changes: Any) -> PaymentRequest:
    values: dict[str, Any] = {
        "binding": BINDING,
        "scene": Scene.MINA,
        "out_trade_no": "JB202611250001",
        "description": "聚宝测试-咖啡 ×1",
        "total_fen": 1234,
        "payer_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "notify_url": "https://jubao.example.com/channel/wechatpay/notify",
        "time_expire": datetime(2026, 11, 25, 15, 13, 0, tzinfo=UTC),
        "attach": "store=7",
    }
    values.update(changes)
    return PaymentRequest(**values)


def refund_request(**changes: Any) -> RefundRequest:
    values: dict[str, Any] = {
        "binding": BINDING,
        "out_trade_no": "JB202611250001",
        "out_refund_no": "JR202611250001",
        "refund_fen": 500,
        "total_fen": 1234,
        "notify_url": "https://jubao.example.com/channel/wechatpay/notify",
        "reason": "顾客退货",
    }
    values.update(changes)
    return RefundRequest(**values)


def always(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: response


# ---- prepay -------------------------------------------------------------------------------------


async def test_prepay_sends_the_partner_body_signed(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {"prepay_id": "wx2611252300abc"})))
    assert await channel.prepay(prepay_request()) == "wx2611252300abc"

    (request,) = wechat.received
    assert request.method == "POST"
    assert str(request.url) == "https://api.mch.weixin.qq.com/v3/pay/partner/transactions/jsapi"
    assert json.loads(request.content) == {
        "sp_appid": SP_APPID,
        "sp_mchid": SP_MCHID,
        "sub_appid": SUB_APPID,
        "sub_mchid": SUB_MCHID,
        "description": "聚宝测试-咖啡 ×1",
        "out_trade_no": "JB202611250001",
        "time_expire": "2026-11-25T23:13:00+08:00",
        "attach": "store=7",
        "notify_url": "https://jubao.example.com/channel/wechatpay/notify",
        "amount": {"total": 1234, "currency": "CNY"},
        "payer": {"sub_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    }
    # Compact, UTF-8, not ASCII-escaped: the signed bytes are the sent bytes.
    assert "聚宝测试".encode() in request.content
    assert b": " not in request.content and b", " not in request.content
    assert type(json.loads(request.content)["amount"]["total"]) is int
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"jubao/{__version__}"
    assert request.headers["Wechatpay-Serial"] == PUB_KEY_ID
    await channel.aclose()


async def test_prepay_omits_empty_attach(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {"prepay_id": "wx1"})))
    await channel.prepay(prepay_request(attach=None))
    assert "attach" not in json.loads(wechat.received[0].content)


async def test_prepay_refuses_float_or_zero_amounts(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {"prepay_id": "wx1"})))
    for bad in (12.34, 0, True):
        with pytest.raises(ValueError, match="fen"):
            await channel.prepay(prepay_request(total_fen=bad))
    assert wechat.received == []


async def test_signed_url_keeps_the_base_path_prefix(wechat: FakeWechat) -> None:
    channel = wechat.channel(
        always(wechat.answer(200, paid_transaction())), base_url=PREFIX_URL + "/"
    )
    await channel.query(BINDING, "JB202611250001")
    (request,) = wechat.received
    signed_url = (
        f"/sim/wechatpay/v3/pay/partner/transactions/out-trade-no/JB202611250001"
        f"?sp_mchid={SP_MCHID}&sub_mchid={SUB_MCHID}"
    )
    assert request.url.raw_path.decode() == signed_url  # the fake verified over this URL
    assert request.url.host == "127.0.0.1" and request.url.port == 8600


async def test_path_placeholders_are_encoded_and_still_verify(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, paid_transaction("a|b*c-1"))))
    assert (await channel.query(BINDING, "a|b*c-1")).out_trade_no == "a|b*c-1"
    assert "/out-trade-no/a%7Cb%2Ac-1?" in wechat.received[0].url.raw_path.decode()


async def test_get_signs_an_empty_body(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, paid_transaction())))
    await channel.query(BINDING, "JB202611250001")
    (request,) = wechat.received
    assert request.content == b""
    assert "Content-Type" not in request.headers


# ---- sign_params --------------------------------------------------------------------------------


def test_sign_params_verify_with_the_sp_public_key(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(httpx.Response(500)))
    params = channel.sign_params(SUB_APPID, "wx2611252300abc")
    assert params.app_id == SUB_APPID
    assert params.time_stamp == str(NOW_TS) and len(params.time_stamp) == 10
    assert re.fullmatch(r"[A-Za-z0-9]{32}", params.nonce_str)
    assert params.package == "prepay_id=wx2611252300abc"
    assert params.sign_type == "RSA"
    message = f"{SUB_APPID}\n{NOW_TS}\n{params.nonce_str}\nprepay_id=wx2611252300abc\n".encode()
    rsa_verify(wechat.sp_key.public_key(), message, params.pay_sign)
    assert params.as_wire()["paySign"] == params.pay_sign
    assert channel.sign_params(SUB_APPID, "wx1").nonce_str != params.nonce_str


# ---- query --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trade_state", "status"),
    [
        ("SUCCESS", TradeStatus.PAID),
        ("REFUND", TradeStatus.PAID),
        ("NOTPAY", TradeStatus.PENDING),
        ("USERPAYING", TradeStatus.PENDING),
        ("CLOSED", TradeStatus.CLOSED),
        ("REVOKED", TradeStatus.REVOKED),
        ("PAYERROR", TradeStatus.FAILED),
        ("SOMETHING_NEW", TradeStatus.PENDING),
    ],
)
async def test_query_maps_every_trade_state(
    wechat: FakeWechat, trade_state: str, status: TradeStatus
) -> None:
    channel = wechat.channel(always(wechat.answer(200, paid_transaction(trade_state=trade_state))))
    transaction = await channel.query(BINDING, "JB202611250001")
    assert transaction.status is status
    assert transaction.raw_state == trade_state


async def test_query_fills_the_transaction(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, paid_transaction())))
    transaction = await channel.query(BINDING, "JB202611250001")
    assert transaction.transaction_id == "4200000001202611250000000001"
    assert transaction.total_fen == 1234
    assert transaction.payer_id == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert transaction.success_time == datetime(2026, 11, 25, 15, 0, 1, tzinfo=UTC)
    (request,) = wechat.received
    assert request.method == "GET"
    assert dict(request.url.params) == {"sp_mchid": SP_MCHID, "sub_mchid": SUB_MCHID}


async def test_query_of_an_unpaid_order_and_sp_openid(wechat: FakeWechat) -> None:
    unpaid = {
        "sp_appid": SP_APPID,
        "sp_mchid": SP_MCHID,
        "sub_mchid": SUB_MCHID,
        "out_trade_no": "JB1",
        "trade_state": "NOTPAY",
        "trade_state_desc": "订单未支付",
        "payer": {"sp_openid": "oSP"},
        "amount": {"total": 1},
    }
    channel = wechat.channel(always(wechat.answer(200, unpaid)))
    transaction = await channel.query(BINDING, "JB1")
    assert transaction.status is TradeStatus.PENDING
    assert transaction.transaction_id is None and transaction.success_time is None
    assert transaction.payer_id == "oSP"


async def test_query_of_an_unknown_order_is_a_channel_error(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.error(404, "ORDER_NOT_EXIST", "订单不存在")))
    with pytest.raises(ChannelError) as caught:
        await channel.query(BINDING, "JB404")
    assert caught.value.sub_code == "ORDER_NOT_EXIST"
    assert caught.value.http_status == 404
    assert caught.value.message == "微信支付：订单不存在"


async def test_query_answer_for_another_order_is_not_trusted(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, paid_transaction("JB_OTHER"))))
    with pytest.raises(ChannelUnavailable):
        await channel.query(BINDING, "JB202611250001")


async def test_query_with_a_float_amount_is_not_trusted(wechat: FakeWechat) -> None:
    doc = paid_transaction(amount={"total": 12.34})
    channel = wechat.channel(always(wechat.answer(200, doc)))
    with pytest.raises(ChannelUnavailable, match="total"):
        await channel.query(BINDING, "JB202611250001")


# ---- close --------------------------------------------------------------------------------------


async def test_close_expects_a_signed_204(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(204)))
    await channel.close(BINDING, "JB202611250001")  # no exception: closed
    (request,) = wechat.received
    assert request.method == "POST"
    assert request.url.path == "/v3/pay/partner/transactions/out-trade-no/JB202611250001/close"
    assert json.loads(request.content) == {"sp_mchid": SP_MCHID, "sub_mchid": SUB_MCHID}


async def test_unsigned_204_is_not_trusted(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(httpx.Response(204)))
    with pytest.raises(ChannelUnavailable):
        await channel.close(BINDING, "JB202611250001")


@pytest.mark.parametrize("code", ["ORDERPAID", "ORDER_PAID"])
async def test_close_of_a_paid_order_normalises_the_code(wechat: FakeWechat, code: str) -> None:
    channel = wechat.channel(always(wechat.error(400, code, "订单已支付")))
    with pytest.raises(ChannelError) as caught:
        await channel.close(BINDING, "JB202611250001")
    assert caught.value.sub_code == "ORDER_PAID"
    assert caught.value.http_status == 400


# ---- refunds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("SUCCESS", RefundStatus.SUCCESS),
        ("PROCESSING", RefundStatus.PROCESSING),
        ("CLOSED", RefundStatus.FAILED),
        ("ABNORMAL", RefundStatus.FAILED),
        ("SOMETHING_NEW", RefundStatus.PROCESSING),
    ],
)
async def test_refund_maps_every_status(wechat: FakeWechat, raw: str, status: RefundStatus) -> None:
    channel = wechat.channel(always(wechat.answer(200, refund_doc(status=raw))))
    refund = await channel.refund(refund_request())
    assert refund.status is status
    assert refund.raw_status == raw


async def test_refund_sends_the_partner_body(wechat: FakeWechat) -> None:
    doc = refund_doc(status="SUCCESS", success_time="2026-11-25T23:10:05+08:00")
    channel = wechat.channel(always(wechat.answer(200, doc)))
    refund = await channel.refund(refund_request())
    assert refund.refund_id == "50000000382019052709732678859"
    assert refund.out_trade_no == "JB202611250001"
    assert refund.refund_fen == 500
    assert refund.success_time == datetime(2026, 11, 25, 15, 10, 5, tzinfo=UTC)
    (request,) = wechat.received
    assert request.url.path == "/v3/refund/domestic/refunds"
    assert json.loads(request.content) == {
        "sub_mchid": SUB_MCHID,
        "out_trade_no": "JB202611250001",
        "out_refund_no": "JR202611250001",
        "reason": "顾客退货",
        "notify_url": "https://jubao.example.com/channel/wechatpay/notify",
        "amount": {"refund": 500, "total": 1234, "currency": "CNY"},
    }


async def test_refund_refusal_is_a_channel_error(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.error(403, "NOT_ENOUGH", "基本账户余额不足")))
    with pytest.raises(ChannelError) as caught:
        await channel.refund(refund_request(reason=None))
    assert caught.value.sub_code == "NOT_ENOUGH"
    assert "reason" not in json.loads(wechat.received[0].content)


async def test_query_refund(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, refund_doc(status="SUCCESS"))))
    refund = await channel.query_refund(BINDING, "JB202611250001", "JR202611250001")
    assert refund.status is RefundStatus.SUCCESS
    (request,) = wechat.received
    assert request.method == "GET"
    assert request.url.raw_path.decode() == (
        f"/v3/refund/domestic/refunds/JR202611250001?sub_mchid={SUB_MCHID}"
    )


async def test_query_refund_not_found(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")))
    with pytest.raises(ChannelError) as caught:
        await channel.query_refund(BINDING, "JB202611250001", "JR404")
    assert caught.value.sub_code == "RESOURCE_NOT_EXISTS"


# ---- what cannot be trusted or did not happen ---------------------------------------------------


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _tampered(wechat: FakeWechat) -> httpx.Response:
    signed = wechat.answer(200, paid_transaction())
    body = signed.content.replace(b"1234", b"9999")
    return httpx.Response(200, content=body, headers=dict(signed.headers))


UNTRUSTED: dict[str, Callable[[FakeWechat], httpx.Response]] = {
    "5xx": lambda w: w.error(500, "SYSTEM_ERROR", "系统错误"),
    "503 no body": lambda _w: httpx.Response(503),
    "429": lambda w: w.error(429, "FREQUENCY_LIMITED", "频率超限"),
    "unsigned 200": lambda _w: httpx.Response(200, json=paid_transaction()),
    "signed by another key": lambda w: w.answer(200, paid_transaction(), key=_other_key()),
    "tampered body": _tampered,
    "wrong serial": lambda w: w.answer(200, paid_transaction(), serial="PUB_KEY_ID_OTHER"),
    "stale timestamp": lambda w: w.answer(200, paid_transaction(), timestamp=NOW_TS - 300),
    "future timestamp": lambda w: w.answer(200, paid_transaction(), timestamp=NOW_TS + 301),
    "signtest": lambda w: w.answer(200, paid_transaction(), signature="WECHATPAY/SIGNTEST/abc"),
    "bad base64": lambda w: w.answer(200, paid_transaction(), signature="%%%"),
    "4xx html": lambda _w: httpx.Response(403, text="<html>forbidden</html>"),
    "redirect": lambda _w: httpx.Response(302, headers={"Location": "https://evil"}),
}


@pytest.mark.parametrize("case", sorted(UNTRUSTED))
async def test_untrusted_or_failed_answers_are_unavailable(wechat: FakeWechat, case: str) -> None:
    channel = wechat.channel(always(UNTRUSTED[case](wechat)))
    with pytest.raises(ChannelUnavailable) as caught:
        await channel.query(BINDING, "JB202611250001")
    assert caught.value.sub_code == "CHANNEL_UNAVAILABLE"
    assert caught.value.message.startswith("微信支付：")


def _signed_raw(wechat: FakeWechat, body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers=wechat.signed_headers(body))


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"prepay_id": 7}', b"{}"])
async def test_signed_but_unusable_prepay_answers(wechat: FakeWechat, body: bytes) -> None:
    channel = wechat.channel(always(_signed_raw(wechat, body)))
    with pytest.raises(ChannelUnavailable):
        await channel.prepay(prepay_request())


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("eof"),
    ],
)
async def test_transport_failures_are_unavailable(wechat: FakeWechat, error: Exception) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        raise error

    channel = wechat.channel(fail)
    with pytest.raises(ChannelUnavailable):
        await channel.prepay(prepay_request())


async def test_error_without_message_uses_the_code(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(httpx.Response(400, json={"code": "PARAM_ERROR"})))
    with pytest.raises(ChannelError) as caught:
        await channel.prepay(prepay_request())
    assert caught.value.message == "微信支付：PARAM_ERROR"
    assert caught.value.sub_code == "PARAM_ERROR"


# ---- lifecycle ----------------------------------------------------------------------------------


async def test_aclose_closes_only_an_owned_client(wechat: FakeWechat) -> None:
    injected = httpx.AsyncClient(transport=httpx.MockTransport(always(httpx.Response(500))))
    channel: Channel = WechatPayChannel(wechat.config(), http_client=injected)  # mypy: conforms
    await channel.aclose()
    assert not injected.is_closed
    await injected.aclose()

    async with WechatPayChannel(wechat.config()) as owned:
        lean = owned._http.lean
        assert lean is not None and not lean.is_closed
    assert lean.is_closed


def test_config_repr_hides_secrets(wechat: FakeWechat) -> None:
    config = wechat.config()
    text = repr(config)
    assert "PRIVATE" not in text and "PUBLIC KEY" not in text
    assert config.apiv3_key not in text
    assert SP_MCHID in text


@pytest.mark.parametrize(
    "overrides",
    [{"apiv3_key": "short"}, {"base_url": "api.mch.weixin.qq.com"}, {"sp_mchid": ""}],
)
def test_config_rejects_nonsense(wechat: FakeWechat, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"apiv3_key|base_url|sp_mchid"):
        wechat.config(**overrides)


async def test_an_answer_over_the_lean_clients_bound_is_too_large(wechat: FakeWechat) -> None:
    """The lean client's own bound (4 MiB): the channel says what happened, not a network fault."""
    huge = b"x" * (4 * 1024 * 1024 + 1)
    async with (
        recording(ok(huge)) as (url, recorder),
        WechatPayChannel(wechat.config(base_url=url)) as channel,
    ):
        with pytest.raises(ChannelUnavailable, match="应答过大"):
            await channel.query(BINDING, "JB202611250001")
    assert len(recorder.heads) == 1  # asked once, not again
