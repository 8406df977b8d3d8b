"""The WeChat adapter's in-store and QR scenes over a transport-level fake of WeChat: code
payment (200 paid, 202 waiting, refusals by kind), Native, reverse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jubao.channels.base import (
    ImmediateOutcome,
    PaymentRequest,
    QrContent,
    TradeStatus,
    WalletPackage,
)
from jubao.errors import ChannelError, ChannelErrorKind, ChannelUnavailable
from jubao.kinds import Scene
from tests.channels.test_wechatpay_client import BINDING, always, prepay_request
from tests.channels.wechatpay_fake import (
    SP_APPID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    FakeWechat,
    paid_transaction,
)

CODE = "134567890123451111"


@pytest.fixture(scope="module")
def wechat() -> FakeWechat:
    return FakeWechat.create()


def code_request(**changes: Any) -> PaymentRequest:
    values: dict[str, Any] = {"scene": Scene.BARCODE, "auth_code": CODE, "payer_id": None}
    return prepay_request(**(values | changes))


async def test_a_code_payment_paid_at_once(wechat: FakeWechat) -> None:
    paid = paid_transaction("JB202611250001", trade_type="MICROPAY")
    channel = wechat.channel(always(wechat.answer(200, paid)))
    outcome = await channel.create_payment(code_request(store_ref="7"))
    assert isinstance(outcome, ImmediateOutcome)
    assert outcome.transaction.status is TradeStatus.PAID
    assert outcome.transaction.total_fen == paid["amount"]["total"]
    (sent,) = wechat.received[-1:]
    assert str(sent.url).endswith("/v3/pay/partner/transactions/codepay")
    body = json.loads(sent.content)
    assert body["payer"] == {"auth_code": CODE}
    assert body["sp_appid"] == SP_APPID and body["sp_mchid"] == SP_MCHID
    assert body["sub_mchid"] == SUB_MCHID and body["sub_appid"] == SUB_APPID
    assert body["scene_info"] == {"store_info": {"out_id": "7"}}
    assert "notify_url" not in body and "time_expire" not in body  # WeChat takes neither here
    await channel.aclose()


@pytest.mark.parametrize("answer", [{"trade_state": "USERPAYING"}, {}], ids=["minimal", "empty"])
async def test_a_202_means_the_payer_must_confirm(
    wechat: FakeWechat, answer: dict[str, Any]
) -> None:
    channel = wechat.channel(always(wechat.answer(202, answer)))
    outcome = await channel.create_payment(code_request())
    assert isinstance(outcome, ImmediateOutcome)
    assert outcome.transaction.status is TradeStatus.PENDING
    assert outcome.transaction.out_trade_no == "JB202611250001"
    await channel.aclose()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("NOT_ENOUGH", ChannelErrorKind.INSUFFICIENT_FUNDS),
        ("AUTH_CODE_INVALID", ChannelErrorKind.INVALID_PAYMENT_CODE),
        ("AUTH_CODE_EXPIRE", ChannelErrorKind.INVALID_PAYMENT_CODE),
        ("ACCOUNT_ERROR", ChannelErrorKind.DECLINED),
        ("ORDER_PAID", ChannelErrorKind.ALREADY_PAID),
    ],
)
async def test_refusals_carry_their_kind(
    wechat: FakeWechat, code: str, kind: ChannelErrorKind
) -> None:
    channel = wechat.channel(always(wechat.error(403, code, "支付失败")))
    with pytest.raises(ChannelError) as caught:
        await channel.create_payment(code_request())
    assert caught.value.kind is kind and caught.value.sub_code == code
    assert "支付失败" in caught.value.message
    await channel.aclose()


async def test_a_code_payment_needs_the_code(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {})))
    with pytest.raises(ChannelError) as caught:
        await channel.create_payment(code_request(auth_code=None))
    assert caught.value.kind is ChannelErrorKind.INVALID_PAYMENT_CODE
    await channel.aclose()


async def test_native_answers_the_qr_content(wechat: FakeWechat) -> None:
    code_url = "weixin://wxpay/bizpayurl?pr=AbCdEf1"
    channel = wechat.channel(always(wechat.answer(200, {"code_url": code_url})))
    qr = await channel.create_payment(prepay_request(scene=Scene.NATIVE, payer_id=None))
    assert qr == QrContent(prepay_id=None, code=code_url)
    sent = wechat.received[-1]
    assert str(sent.url).endswith("/v3/pay/partner/transactions/native")
    assert "payer" not in json.loads(sent.content)
    await channel.aclose()


async def test_native_without_code_url_is_an_unknown_outcome(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {})))
    with pytest.raises(ChannelUnavailable):
        await channel.create_payment(prepay_request(scene=Scene.NATIVE, payer_id=None))
    await channel.aclose()


async def test_official_account_jsapi_is_the_wallet_package(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {"prepay_id": "wx-oa-1"})))
    package = await channel.create_payment(prepay_request(scene=Scene.JSAPI))
    assert isinstance(package, WalletPackage)
    assert package.params["package"] == "prepay_id=wx-oa-1"
    assert package.params["appId"] == SUB_APPID
    await channel.aclose()


async def test_reverse_posts_to_the_order(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.answer(200, {"out_trade_no": "JB1"})))
    await channel.cancel(BINDING, "JB1")
    sent = wechat.received[-1]
    assert str(sent.url).endswith("/v3/pay/partner/transactions/out-trade-no/JB1/reverse")
    assert json.loads(sent.content) == {"sp_mchid": SP_MCHID, "sub_mchid": SUB_MCHID}
    await channel.aclose()


async def test_reverse_while_the_payer_types_is_retried_later(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.error(400, "USERPAYING", "用户正在支付")))
    with pytest.raises(ChannelUnavailable):
        await channel.cancel(BINDING, "JB1")
    await channel.aclose()


async def test_v2_spellings_are_normalised(wechat: FakeWechat) -> None:
    channel = wechat.channel(always(wechat.error(403, "AUTHCODEEXPIRE", "付款码过期")))
    with pytest.raises(ChannelError) as caught:
        await channel.create_payment(code_request())
    assert caught.value.sub_code == "AUTH_CODE_EXPIRE"
    assert caught.value.kind is ChannelErrorKind.INVALID_PAYMENT_CODE
    await channel.aclose()
