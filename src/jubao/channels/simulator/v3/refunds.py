"""Refunds: ``POST /v3/refund/domestic/refunds``, the refund query, and the settlement WeChat
does afterwards in the background (reference §4)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from jubao.channels.simulator import ids
from jubao.channels.simulator.errors import ApiError, param_error
from jubao.channels.simulator.models import (
    Order,
    Refund,
    refund_json,
    refund_key,
    refund_notification_json,
)
from jubao.channels.simulator.rules import RefundRequest, parse_refund
from jubao.channels.simulator.state import PAID_STATES
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.checks import sub_appids

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = [
    "create_refund",
    "handle_create_refund",
    "handle_query_refund",
    "query_refund",
    "settle_later",
    "settle_refund",
]

REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}


def handle_create_refund(sim: Simulator, call: Call) -> Answer:
    return 200, create_refund(sim, call.mchid, parse_refund(call.json()))


def handle_query_refund(sim: Simulator, call: Call) -> Answer:
    (sub_mchid,) = call.require("sub_mchid")
    return 200, query_refund(sim, call.mchid, sub_mchid, call.path["out_refund_no"])


def create_refund(sim: Simulator, mchid: str, request: RefundRequest) -> dict[str, Any]:
    # The refund body names no sp_mchid: the signer (Authorization mchid) is the provider.
    sub_appids(sim, mchid, request.sub_mchid, status=404)
    key = refund_key(mchid, request.sub_mchid, request.out_refund_no)
    existing = sim.state.refunds.get(key)
    order = _refund_order(sim, mchid, request)
    if existing is not None:
        same = (
            order is not None
            and existing.order_key == order.key
            and (existing.refund, existing.total) == (request.refund, request.total)
        )
        if not same:
            raise ApiError(400, "INVALID_REQUEST", "退款单号已存在，且请求参数与首次不一致")
        return refund_json(existing)  # one out_refund_no refunds once
    if order is None or order.trade_state not in PAID_STATES or order.transaction_id is None:
        raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
    if request.total != order.total:
        raise param_error("amount.total 与原订单金额不一致", "amount.total")
    refunded = sum(item.refund for item in sim.state.refunds_of(order) if item.holds_money)
    paid = order.payer_total if order.payer_total is not None else order.total
    if refunded + request.refund > paid:
        raise ApiError(403, "NOT_ENOUGH", f"可退金额不足（已退 {refunded} 分，订单 {paid} 分）")
    now = sim.now()
    refund = Refund(
        sp_mchid=mchid,
        sub_mchid=request.sub_mchid,
        order_key=order.key,
        out_trade_no=order.out_trade_no,
        transaction_id=order.transaction_id,
        out_refund_no=request.out_refund_no,
        refund_id=ids.new_refund_id(now),
        reason=request.reason,
        notify_url=request.notify_url,
        refund=request.refund,
        total=request.total,
        currency=request.currency,
        created_at=now,
        settle_at=now + sim.config.refund_delay_seconds * sim.config.time_scale,
        outcome=sim.controls.refund_outcome(order.out_trade_no),
    )
    sim.state.refunds[key] = refund
    order.trade_state = "REFUND"
    sim.state.save_order(order)
    sim.state.save_refund(refund)
    settle_later(sim, refund)
    return refund_json(refund)


def query_refund(sim: Simulator, mchid: str, sub_mchid: str, out_refund_no: str) -> dict[str, Any]:
    sub_appids(sim, mchid, sub_mchid, status=404)
    refund = sim.state.refunds.get(refund_key(mchid, sub_mchid, out_refund_no))
    if refund is None:
        raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return refund_json(refund)


def _refund_order(sim: Simulator, mchid: str, request: RefundRequest) -> Order | None:
    """The order both given identifiers name, under that sub-merchant; ``None`` otherwise."""
    by_id = None
    if request.transaction_id is not None:
        by_id = sim.state.order_by_transaction(request.transaction_id)
        if by_id is None:
            return None
    by_no = None
    if request.out_trade_no is not None:
        by_no = sim.state.order(mchid, request.out_trade_no)
        if by_no is None or (by_id is not None and by_no is not by_id):
            return None
    order = by_id or by_no
    if order is None or order.sp_mchid != mchid or order.sub_mchid != request.sub_mchid:
        return None
    return order


def settle_later(sim: Simulator, refund: Refund) -> None:
    """Settles the refund at its ``settle_at`` (immediately if overdue), in the background."""

    async def settle() -> None:
        await asyncio.sleep(max(0.0, refund.settle_at - sim.now()))
        settle_refund(sim, refund)

    sim.background.spawn(f"refund:{refund.key}", settle())


def settle_refund(sim: Simulator, refund: Refund) -> None:
    """Moves a PROCESSING refund to its outcome and notifies."""
    if refund.status != "PROCESSING":
        return
    refund.status = refund.outcome
    if refund.status == "SUCCESS":
        refund.success_time = sim.now()
    sim.state.save_refund(refund)
    order = sim.state.order_by_key(refund.order_key)
    sim.outbox.send(
        sp_mchid=order.sp_mchid,
        out_trade_no=order.out_trade_no,
        event_type=f"REFUND.{refund.status}",
        summary=REFUND_SUMMARY[refund.status],
        original_type="refund",
        plaintext=refund_notification_json(refund),
        url=refund.notify_url or order.notify_url,
    )
