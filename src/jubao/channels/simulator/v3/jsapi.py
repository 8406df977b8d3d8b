"""JSAPI / mini-program ordering: ``POST /v3/pay/partner/transactions/jsapi`` (reference §3).

Opens the order (or finds the identical one again) and issues a prepay_id for the payer's
``wx.requestPayment``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jubao.channels.simulator import ids
from jubao.channels.simulator.errors import ApiError, InternalCode
from jubao.channels.simulator.models import Order
from jubao.channels.simulator.rules import PrepayRequest, parse_prepay
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.checks import check_partner, refuse_paid_or_closed

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["handle_prepay", "open_order", "prepay"]

PREPAY_TTL_SECONDS = 2 * 3600
DEFAULT_ORDER_TTL_SECONDS = 7 * 86400
MIN_EXPIRE_AHEAD_SECONDS = 60


def handle_prepay(sim: Simulator, call: Call) -> Answer:
    return 200, {"prepay_id": prepay(sim, call.mchid, parse_prepay(call.json()))}


def prepay(sim: Simulator, mchid: str, request: PrepayRequest) -> str:
    order = open_order(sim, mchid, request, trade_type="JSAPI")
    now = sim.now()
    live = [(expiry, pid) for pid, expiry in order.prepays.items() if expiry > now]
    if live:
        # An identical retry while a prepay_id lives gets that same prepay_id.
        return max(live)[1]
    prepay_id = ids.new_prepay_id(now)
    sim.state.add_prepay(order, prepay_id, min(now + PREPAY_TTL_SECONDS, order.expire_at))
    return prepay_id


def open_order(sim: Simulator, mchid: str, request: PrepayRequest, *, trade_type: str) -> Order:
    """The order a prepay-style request (JSAPI, Native) opens, or the identical one it opened
    before; a paid or closed one, or different parameters under its number, are refused."""
    check_partner(
        sim, mchid, request.sp_mchid, request.sp_appid, request.sub_mchid, request.sub_appid
    )
    now = sim.now()
    order = sim.state.order(mchid, request.out_trade_no)
    if order is None:
        expire_at = request.time_expire or now + DEFAULT_ORDER_TTL_SECONDS
        order = Order(
            sp_mchid=mchid,
            sp_appid=request.sp_appid,
            sub_mchid=request.sub_mchid,
            sub_appid=request.sub_appid,
            out_trade_no=request.out_trade_no,
            description=request.description,
            attach=request.attach,
            notify_url=request.notify_url,
            total=request.total,
            currency=request.currency,
            sp_openid=request.sp_openid,
            sub_openid=request.sub_openid,
            created_at=now,
            # WeChat moves a time_expire closer than one minute to now + 1 minute.
            expire_at=max(expire_at, now + MIN_EXPIRE_AHEAD_SECONDS),
            fingerprint=request.fingerprint,
            trade_type=trade_type,
        )
        sim.state.add_order(order)
        return order
    sim.state.refresh(order)
    refuse_paid_or_closed(sim, order)
    if order.fingerprint != request.fingerprint:
        raise ApiError(
            403,
            "OUT_TRADE_NO_USED",
            "商户订单号重复（请求重入时，参数与首次请求时不一致）",
            internal=InternalCode.PARAMS_CHANGED,
        )
    return order
