"""The channel against the simulator over real HTTP: the three scenes and the payers."""

from __future__ import annotations

import asyncio

import pytest

from jubao.channels.base import (
    ChannelBinding,
    ChannelTradeNo,
    ImmediateOutcome,
    QrContent,
    RedirectUrl,
    TradeStatus,
    TransactionEvent,
)
from jubao.errors import ChannelError, ChannelErrorKind
from jubao.kinds import ChannelName, Scene
from tests.alipay.support import MERCHANT_PID, OTHER_PID, OTHER_TOKEN, World, payment_code


async def _settled(alipay: World, out_trade_no: str, seconds: float = 5.0) -> TradeStatus:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        status = (await alipay.channel.query(alipay.binding, out_trade_no)).status
        if status is not TradeStatus.PENDING or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.05)


def test_supports_the_four_alipay_scenes(alipay: World) -> None:
    assert {s for s in Scene if alipay.channel.supports(s)} == {
        Scene.BARCODE,
        Scene.NATIVE,
        Scene.JSAPI,
        Scene.H5,  # alipay.trade.wap.pay
    }


async def test_unsupported_scene_is_refused(alipay: World) -> None:
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.create_payment(alipay.payment(Scene.MINA))
    assert caught.value.kind is ChannelErrorKind.UNSUPPORTED


async def test_barcode_pays_at_once_and_notifies(alipay: World) -> None:
    request = alipay.payment(
        Scene.BARCODE, total_fen=8888, auth_code=payment_code(), store_ref="1024"
    )
    outcome = await alipay.channel.create_payment(request)
    assert isinstance(outcome, ImmediateOutcome)
    paid = outcome.transaction
    assert paid.status is TradeStatus.PAID
    assert paid.total_fen == 8888
    assert paid.transaction_id and len(paid.transaction_id) == 28
    assert paid.payer_id and paid.payer_id.startswith("2088")
    assert paid.success_time is not None

    queried = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (queried.status, queried.raw_state) == (TradeStatus.PAID, "TRADE_SUCCESS")
    _, state = await alipay.control("GET", f"/control/trades/{request.out_trade_no}")
    assert state["store_id"] == "1024"
    assert queried.transaction_id == paid.transaction_id
    assert queried.total_fen == 8888

    await alipay.sim.idle()
    (event,) = alipay.receiver.events
    assert isinstance(event, TransactionEvent)
    assert event.transaction.out_trade_no == request.out_trade_no
    assert event.transaction.total_fen == 8888
    assert event.merchant_id == MERCHANT_PID


async def test_barcode_password_payer_waits_then_pays(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code("1111"))
    outcome = await alipay.channel.create_payment(request)
    assert isinstance(outcome, ImmediateOutcome)
    assert outcome.transaction.status is TradeStatus.PENDING
    assert outcome.transaction.raw_state == "WAIT_BUYER_PAY"
    assert await _settled(alipay, request.out_trade_no) is TradeStatus.PAID
    await alipay.sim.idle()
    assert [
        e.transaction.status for e in alipay.receiver.events if isinstance(e, TransactionEvent)
    ] == [TradeStatus.PAID]


@pytest.mark.parametrize(
    ("suffix", "kind", "sub_code"),
    [
        ("2222", ChannelErrorKind.INSUFFICIENT_FUNDS, "ACQ.BUYER_BALANCE_NOT_ENOUGH"),
        ("3333", ChannelErrorKind.INVALID_PAYMENT_CODE, "ACQ.PAYMENT_AUTH_CODE_INVALID"),
    ],
)
async def test_barcode_refusals_have_their_kind(
    alipay: World, suffix: str, kind: ChannelErrorKind, sub_code: str
) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code(suffix))
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.create_payment(request)
    assert caught.value.kind is kind
    assert caught.value.sub_code == sub_code
    assert "支付宝" in caught.value.message
    with pytest.raises(ChannelError) as missing:  # a refused payment leaves no trade
        await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert missing.value.kind is ChannelErrorKind.NOT_FOUND


async def test_a_used_or_malformed_code_is_invalid(alipay: World) -> None:
    code = payment_code()
    await alipay.channel.create_payment(alipay.payment(Scene.BARCODE, auth_code=code))
    for bad in (code, "12345678901234567", "28123"):
        with pytest.raises(ChannelError) as caught:
            await alipay.channel.create_payment(alipay.payment(Scene.BARCODE, auth_code=bad))
        assert caught.value.kind is ChannelErrorKind.INVALID_PAYMENT_CODE


async def test_barcode_never_confirming_payer_is_cancelled(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code("4444"))
    outcome = await alipay.channel.create_payment(request)
    assert isinstance(outcome, ImmediateOutcome)
    assert outcome.transaction.status is TradeStatus.PENDING
    await asyncio.sleep(0.5)  # longer than the password payer's delay: still waiting
    assert (await alipay.channel.query(alipay.binding, request.out_trade_no)).status is (
        TradeStatus.PENDING
    )
    await alipay.channel.cancel(alipay.binding, request.out_trade_no)
    closed = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (closed.status, closed.raw_state) == (TradeStatus.CLOSED, "TRADE_CLOSED")


async def test_native_qr_exists_at_alipay_only_once_scanned(alipay: World) -> None:
    request = alipay.payment(Scene.NATIVE, total_fen=100)
    qr = await alipay.channel.create_payment(request)
    assert isinstance(qr, QrContent)
    assert qr.code.startswith("https://qr.alipay.com/")
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (caught.value.kind, caught.value.sub_code) == (
        ChannelErrorKind.NOT_FOUND,
        "ACQ.TRADE_NOT_EXIST",
    )

    status, scanned = await alipay.control("POST", "/payer/scan", qr_code=qr.code, pay=False)
    assert (status, scanned["trade_status"]) == (200, "WAIT_BUYER_PAY")
    assert (await alipay.channel.query(alipay.binding, request.out_trade_no)).status is (
        TradeStatus.PENDING
    )
    status, paid = await alipay.control("POST", "/payer/scan", qr_code=qr.code)
    assert (status, paid["resultCode"]) == (200, "9000")
    queried = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (queried.status, queried.total_fen) == (TradeStatus.PAID, 100)


async def test_native_same_out_trade_no_gets_no_second_qr(alipay: World) -> None:
    request = alipay.payment(Scene.NATIVE)
    await alipay.channel.create_payment(request)
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.create_payment(request)
    assert caught.value.kind is ChannelErrorKind.DUPLICATE


async def test_jsapi_trade_is_paid_by_its_buyer_only(alipay: World) -> None:
    buyer = "2088102177846880"
    request = alipay.payment(Scene.JSAPI, total_fen=501, payer_id=buyer)
    created = await alipay.channel.create_payment(request)
    assert isinstance(created, ChannelTradeNo)
    waiting = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (waiting.status, waiting.transaction_id) == (TradeStatus.PENDING, created.trade_no)

    status, refused = await alipay.control(
        "POST", "/payer/trade-pay", trade_no=created.trade_no, buyer="2088000000009999"
    )
    assert (status, refused["resultCode"]) == (400, "4000")
    status, paid = await alipay.control(
        "POST", "/payer/trade-pay", trade_no=created.trade_no, buyer=buyer
    )
    assert (status, paid["resultCode"]) == (200, "9000")
    queried = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (queried.status, queried.payer_id, queried.total_fen) == (TradeStatus.PAID, buyer, 501)


async def test_wap_is_a_signed_page_the_browser_opens(alipay: World) -> None:
    """H5 (alipay.trade.wap.pay): nothing is sent to Alipay at creation; the payer's browser
    opens the signed address, the simulator verifies it and opens the trade on its page."""
    request = alipay.payment(Scene.H5, total_fen=660, return_url="https://m.example/back")
    created = await alipay.channel.create_payment(request)
    assert isinstance(created, RedirectUrl)
    assert created.url.startswith(alipay.base_url + "/gateway.do?")
    with pytest.raises(ChannelError):  # not opened yet: Alipay has no such trade
        await alipay.channel.query(alipay.binding, request.out_trade_no)
    page = await alipay.http.get(created.url)
    assert page.status_code == 200 and ">6.60<" in page.text, page.text
    assert (await alipay.http.get(created.url)).status_code == 200  # a reload: the same trade
    waiting = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert waiting.status is TradeStatus.PENDING
    forged = await alipay.http.get(created.url.replace("6.60", "0.01"))
    assert forged.status_code == 400 and "isv.invalid-signature" in forged.text
    status, paid = await alipay.control(
        "POST", "/payer/wap-pay", seller_id=alipay.binding.merchant_id,
        out_trade_no=request.out_trade_no,
    )  # fmt: skip
    assert (status, paid["resultCode"]) == (200, "9000")
    queried = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (queried.status, queried.total_fen) == (TradeStatus.PAID, 660)


async def test_jsapi_needs_a_payer(alipay: World) -> None:
    with pytest.raises(ChannelError):
        await alipay.channel.create_payment(alipay.payment(Scene.JSAPI))


async def test_jsapi_replay_answers_the_same_trade_and_changed_params_conflict(
    alipay: World,
) -> None:
    request = alipay.payment(Scene.JSAPI, payer_id="2088102177846880")
    first = await alipay.channel.create_payment(request)
    again = await alipay.channel.create_payment(request)
    assert first == again
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.create_payment(
            alipay.payment(
                Scene.JSAPI,
                out_trade_no=request.out_trade_no,
                total_fen=request.total_fen + 1,
                payer_id="2088102177846880",
            )
        )
    assert (caught.value.kind, caught.value.sub_code) == (
        ChannelErrorKind.DUPLICATE,
        "ACQ.CONTEXT_INCONSISTENT",
    )


async def test_paid_trade_cannot_be_paid_again(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code())
    await alipay.channel.create_payment(request)
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.create_payment(
            alipay.payment(
                Scene.BARCODE, out_trade_no=request.out_trade_no, auth_code=payment_code()
            )
        )
    assert (caught.value.kind, caught.value.sub_code) == (
        ChannelErrorKind.ALREADY_PAID,
        "ACQ.TRADE_HAS_SUCCESS",
    )


async def test_another_merchants_trade_is_invisible(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code())
    await alipay.channel.create_payment(request)
    other = ChannelBinding(ChannelName.ALIPAY, OTHER_PID, auth_token=OTHER_TOKEN)
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.query(other, request.out_trade_no)
    assert caught.value.kind is ChannelErrorKind.NOT_FOUND


async def test_a_password_payer_cancelled_before_typing_never_pays(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code("1111"))
    await alipay.channel.create_payment(request)
    await alipay.channel.cancel(alipay.binding, request.out_trade_no)
    await asyncio.sleep(0.5)  # past the moment the payer would have typed the password
    await alipay.sim.idle()
    queried = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert queried.status is TradeStatus.CLOSED
    assert alipay.receiver.bodies == []
