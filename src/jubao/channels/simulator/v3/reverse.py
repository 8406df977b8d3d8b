"""Partner reverse (撤销): ``POST /v3/pay/partner/transactions/out-trade-no/{no}/reverse``
(reference part 2, §3 and §11). Code payments only, within 7 days: an unpaid order is closed for
good, a paid one is refunded in full (an ORIGINAL refund record), either way ``REVOKED``; a
second reverse answers 200 again. While the payer's password box is open it is refused with
USERPAYING (try again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jubao.channels.simulator import ids
from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.models import Order, Refund
from jubao.channels.simulator.rules import parse_json_object
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.checks import check_mchid, order_not_exist, sub_appids
from jubao.channels.simulator.v3.codepay import REVERSE_WINDOW_SECONDS

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["handle_reverse", "reverse"]

REVERSE_FIELDS = frozenset({"sp_appid", "sp_mchid", "sub_appid", "sub_mchid"})


@dataclass(frozen=True)
class ReverseRequest:
    sp_mchid: str
    sub_mchid: str


def _parse(raw: bytes) -> ReverseRequest:
    data = parse_json_object(raw)
    extra = sorted(set(data) - REVERSE_FIELDS)
    if extra:
        raise ApiError(400, "PARAM_ERROR", f"参数中含有非法的额外参数: {extra[0]}")
    values = []
    for name in ("sp_mchid", "sub_mchid"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise ApiError(400, "PARAM_ERROR", f"缺少参数 {name}")
        values.append(value)
    return ReverseRequest(*values)


def handle_reverse(sim: Simulator, call: Call) -> Answer:
    request = _parse(call.body)
    return 200, reverse(sim, call.mchid, call.path["out_trade_no"], request)


def reverse(
    sim: Simulator, mchid: str, out_trade_no: str, request: ReverseRequest
) -> dict[str, Any]:
    check_mchid(mchid, request.sp_mchid)
    sub_appids(sim, request.sp_mchid, request.sub_mchid, status=400)
    order = sim.state.order(request.sp_mchid, out_trade_no)
    if order is None or order.sub_mchid != request.sub_mchid:
        raise order_not_exist()
    sim.state.refresh(order)
    if order.trade_type != "MICROPAY":
        raise ApiError(403, "TRADE_ERROR", "非付款码支付的订单不能撤销，请使用关单或退款")
    now = sim.now()
    if order.trade_state != "REVOKED":
        if now >= order.created_at + REVERSE_WINDOW_SECONDS:
            raise ApiError(403, "REVERSE_EXPIRE", "订单已超过可撤销期限（7天），请使用退款")
        if order.trade_state == "USERPAYING" and order.prompt_open:
            raise ApiError(403, "USERPAYING", "正在支付中不能发起撤销，请稍后重试")
        if order.transaction_id is not None:
            _refund_in_full(sim, order, now)
        order.trade_state = "REVOKED"
        order.revoked_at = now
        order.confirm_at = None
        sim.state.save_order(order)
    answer: dict[str, Any] = {"sp_appid": order.sp_appid, "sp_mchid": order.sp_mchid}
    if order.sub_appid is not None:
        answer["sub_appid"] = order.sub_appid
    answer["sub_mchid"] = order.sub_mchid
    answer["out_trade_no"] = order.out_trade_no
    return answer


def _refund_in_full(sim: Simulator, order: Order, now: float) -> None:
    """A paid order's money goes back at once (no notification: the reverse answers)."""
    assert order.transaction_id is not None
    refund = Refund(
        sp_mchid=order.sp_mchid,
        sub_mchid=order.sub_mchid,
        order_key=order.key,
        out_trade_no=order.out_trade_no,
        transaction_id=order.transaction_id,
        out_refund_no=f"REVERSE-{order.out_trade_no}",
        refund_id=ids.new_refund_id(now),
        reason="撤销",
        notify_url=None,
        refund=order.payer_total if order.payer_total is not None else order.total,
        total=order.total,
        currency=order.currency,
        created_at=now,
        settle_at=now,
        outcome="SUCCESS",
        status="SUCCESS",
        success_time=now,
    )
    sim.state.refunds[refund.key] = refund
    sim.state.save_refund(refund)
