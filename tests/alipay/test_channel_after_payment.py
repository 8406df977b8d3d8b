"""Close, cancel, refunds, refund queries and statements: the channel against the simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jubao.channels.alipay.mapping import CHINA
from jubao.channels.base import ImmediateOutcome, RefundRequest, RefundStatus, TradeStatus
from jubao.errors import ChannelError, ChannelErrorKind, ChannelUnavailable
from jubao.kinds import Scene
from tests.alipay.support import World, new_out_trade_no, payment_code


async def _paid(alipay: World, total_fen: int = 1000) -> str:
    request = alipay.payment(Scene.BARCODE, total_fen=total_fen, auth_code=payment_code())
    outcome = await alipay.channel.create_payment(request)
    assert isinstance(outcome, ImmediateOutcome)
    assert outcome.transaction.status is TradeStatus.PAID
    return request.out_trade_no


def _refund(
    alipay: World, out_trade_no: str, fen: int, total: int = 1000, no: str = ""
) -> RefundRequest:
    return RefundRequest(
        binding=alipay.binding,
        out_trade_no=out_trade_no,
        out_refund_no=no or new_out_trade_no(),
        refund_fen=fen,
        total_fen=total,
        notify_url=alipay.notify_url,
        reason="顾客退货",
    )


async def test_close_a_waiting_trade(alipay: World) -> None:
    request = alipay.payment(Scene.JSAPI, payer_id="2088102177846880")
    await alipay.channel.create_payment(request)
    await alipay.channel.close(alipay.binding, request.out_trade_no)
    closed = await alipay.channel.query(alipay.binding, request.out_trade_no)
    assert (closed.status, closed.raw_state) == (TradeStatus.CLOSED, "TRADE_CLOSED")
    with pytest.raises(ChannelError) as again:
        await alipay.channel.close(alipay.binding, request.out_trade_no)
    assert again.value.kind is ChannelErrorKind.CLOSED


async def test_close_a_paid_trade_is_already_paid(alipay: World) -> None:
    out_trade_no = await _paid(alipay)
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.close(alipay.binding, out_trade_no)
    assert (caught.value.kind, caught.value.sub_code) == (
        ChannelErrorKind.ALREADY_PAID,
        "ACQ.TRADE_STATUS_ERROR",
    )


async def test_close_an_unscanned_qr_is_not_found(alipay: World) -> None:
    request = alipay.payment(Scene.NATIVE)
    await alipay.channel.create_payment(request)
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.close(alipay.binding, request.out_trade_no)
    assert caught.value.kind is ChannelErrorKind.NOT_FOUND


async def test_cancel_a_paid_trade_refunds_it_in_full(alipay: World) -> None:
    out_trade_no = await _paid(alipay)
    await alipay.channel.cancel(alipay.binding, out_trade_no)
    queried = await alipay.channel.query(alipay.binding, out_trade_no)
    assert queried.status is TradeStatus.CLOSED
    status, state = await alipay.control("GET", f"/control/trades/{out_trade_no}")
    assert (status, state["refunded_fen"], state["cancelled"]) == (200, 1000, True)
    await alipay.channel.cancel(alipay.binding, out_trade_no)  # a retried cancel succeeds


async def test_cancel_of_a_trade_alipay_never_saw_succeeds(alipay: World) -> None:
    await alipay.channel.cancel(alipay.binding, new_out_trade_no())


async def test_partial_refunds_replays_and_over_refund(alipay: World) -> None:
    out_trade_no = await _paid(alipay, 1000)
    first = _refund(alipay, out_trade_no, 300)
    done = await alipay.channel.refund(first)
    assert (done.status, done.refund_fen, done.out_refund_no) == (
        RefundStatus.SUCCESS,
        300,
        first.out_refund_no,
    )
    assert done.success_time is not None
    replay = await alipay.channel.refund(first)  # same out_request_no: no second refund
    assert (replay.status, replay.refund_fen) == (RefundStatus.SUCCESS, 300)
    second = await alipay.channel.refund(_refund(alipay, out_trade_no, 200))
    assert second.status is RefundStatus.SUCCESS

    with pytest.raises(ChannelError) as over:
        await alipay.channel.refund(_refund(alipay, out_trade_no, 501))
    assert (over.value.kind, over.value.sub_code) == (
        ChannelErrorKind.REJECTED,
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    )
    with pytest.raises(ChannelError) as changed:
        await alipay.channel.refund(_refund(alipay, out_trade_no, 301, no=first.out_refund_no))
    assert changed.value.sub_code == "ACQ.DISCORDANT_REPEAT_REQUEST"

    _, state = await alipay.control("GET", f"/control/trades/{out_trade_no}")
    assert state["refunded_fen"] == 500
    assert (await alipay.channel.query(alipay.binding, out_trade_no)).status is TradeStatus.PAID

    queried = await alipay.channel.query_refund(alipay.binding, out_trade_no, first.out_refund_no)
    assert (queried.status, queried.refund_fen, queried.out_trade_no) == (
        RefundStatus.SUCCESS,
        300,
        out_trade_no,
    )
    assert queried.success_time is not None
    unknown = await alipay.channel.query_refund(alipay.binding, out_trade_no, "NO_SUCH_REFUND")
    assert (unknown.status, unknown.refund_fen) == (RefundStatus.PROCESSING, None)


async def test_full_refund_closes_the_trade(alipay: World) -> None:
    out_trade_no = await _paid(alipay, 700)
    await alipay.channel.refund(_refund(alipay, out_trade_no, 700, total=700))
    queried = await alipay.channel.query(alipay.binding, out_trade_no)
    assert queried.raw_state == "TRADE_CLOSED"
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.refund(_refund(alipay, out_trade_no, 1, total=700))
    assert caught.value.kind is ChannelErrorKind.CLOSED


async def test_refund_of_an_unpaid_or_unknown_trade(alipay: World) -> None:
    request = alipay.payment(Scene.JSAPI, payer_id="2088102177846880")
    await alipay.channel.create_payment(request)
    with pytest.raises(ChannelError) as unpaid:
        await alipay.channel.refund(_refund(alipay, request.out_trade_no, 100))
    assert unpaid.value.sub_code == "ACQ.TRADE_STATUS_ERROR"
    with pytest.raises(ChannelError) as unknown:
        await alipay.channel.refund(_refund(alipay, new_out_trade_no(), 100))
    assert unknown.value.kind is ChannelErrorKind.NOT_FOUND


async def test_finished_trade_refuses_refunds(alipay: World) -> None:
    out_trade_no = await _paid(alipay)
    status, _ = await alipay.control("POST", f"/control/trades/{out_trade_no}/finish")
    assert status == 200
    queried = await alipay.channel.query(alipay.binding, out_trade_no)
    assert (queried.status, queried.raw_state) == (TradeStatus.PAID, "TRADE_FINISHED")
    with pytest.raises(ChannelError) as caught:
        await alipay.channel.refund(_refund(alipay, out_trade_no, 100))
    assert caught.value.sub_code == "ACQ.TRADE_HAS_FINISHED"


async def test_expired_trade_is_closed(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code("4444"))
    await alipay.channel.create_payment(request)
    alipay.clock.advance(31 * 60)  # past time_expire
    assert (await alipay.channel.query(alipay.binding, request.out_trade_no)).status is (
        TradeStatus.CLOSED
    )


async def test_statement_of_a_past_day(alipay: World) -> None:
    day = alipay.clock().astimezone(CHINA).date()
    paid = [await _paid(alipay, 1000), await _paid(alipay, 250)]
    refund = _refund(alipay, paid[0], 400)
    await alipay.channel.refund(refund)
    with pytest.raises(ChannelError) as today:
        await alipay.channel.fetch_statement(day, alipay.binding)
    assert today.value.sub_code == "BILL_NOT_EXIST"

    alipay.clock.advance(86400)
    lines = await alipay.channel.fetch_statement(day, alipay.binding)
    payments = {line.out_trade_no: line for line in lines if line.refund_fen == 0}
    refunds = [line for line in lines if line.refund_fen]
    assert {k: v.total_fen for k, v in payments.items()} == {paid[0]: 1000, paid[1]: 250}
    assert [(r.out_trade_no, r.refund_fen, r.out_refund_no) for r in refunds] == [
        (paid[0], 400, refund.out_refund_no)
    ]
    assert all(line.merchant_id == alipay.binding.merchant_id for line in lines)
    assert all(line.occurred_at is not None for line in lines)
    # The ISV's own bill (no app_auth_token) does not hold the merchant's trades.
    assert await alipay.channel.fetch_statement(day) == []
    later = await alipay.channel.fetch_statement(day + timedelta(days=-1), alipay.binding)
    assert later == []


async def test_cancel_answered_retry_flag_is_an_unknown_outcome(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code("4444"))
    await alipay.channel.create_payment(request)
    await alipay.control("POST", "/control/faults", kind="retry_flag", method="alipay.trade.cancel")
    with pytest.raises(ChannelUnavailable, match="retry_flag"):
        await alipay.channel.cancel(alipay.binding, request.out_trade_no)
    assert (await alipay.channel.query(alipay.binding, request.out_trade_no)).status is (
        TradeStatus.PENDING
    )
    await alipay.channel.cancel(alipay.binding, request.out_trade_no)  # called again: done
    assert (await alipay.channel.query(alipay.binding, request.out_trade_no)).status is (
        TradeStatus.CLOSED
    )
