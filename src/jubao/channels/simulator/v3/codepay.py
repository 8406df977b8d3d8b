"""Partner code payment (付款码支付): ``POST /v3/pay/partner/transactions/codepay`` (reference
part 2, §2 and §11). One synchronous call: 200 with the paid Transaction (MICROPAY), 202
USERPAYING while the payer must enter a password, or 4xx. No notification is ever sent for a
code payment: its result comes only from this answer and from queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jubao.channels.simulator.errors import ApiError, InternalCode
from jubao.channels.simulator.models import Order, mark_paid, transaction_json
from jubao.channels.simulator.paycodes import PayerBehaviour, behaviour_of
from jubao.channels.simulator.rules import AUTH_CODE, CodepayRequest, parse_codepay
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.checks import check_partner, refuse_paid_or_closed
from jubao.channels.simulator.v3.openids import openid_for

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["codepay", "handle_codepay"]

REVERSE_WINDOW_SECONDS = 7 * 86400
"""A code payment can be reversed for 7 days; the order never expires on its own before."""


def handle_codepay(sim: Simulator, call: Call) -> Answer:
    order = codepay(sim, call.mchid, parse_codepay(call.json()))
    if order.trade_state == "USERPAYING":
        # WeChat's 202 body is minimal (reference part 2, §2.2).
        return 202, {"trade_state": "USERPAYING", "trade_state_desc": "需要用户输入支付密码"}
    return 200, transaction_json(order)


def _invalid_code() -> ApiError:
    return ApiError(400, "AUTH_CODE_INVALID", "101 付款码无效，请重新扫码")


def codepay(sim: Simulator, mchid: str, request: CodepayRequest) -> Order:
    check_partner(
        sim, mchid, request.sp_mchid, request.sp_appid, request.sub_mchid, request.sub_appid
    )
    existing = sim.state.order(mchid, request.out_trade_no)
    if existing is not None:
        return _retry(sim, existing, request)
    if not AUTH_CODE.fullmatch(request.auth_code) or sim.state.auth_code_used(request.auth_code):
        raise _invalid_code()
    behaviour = behaviour_of(request.auth_code)
    if behaviour == PayerBehaviour.INVALID:
        raise _invalid_code()
    sim.state.use_auth_code(request.auth_code)
    if behaviour == PayerBehaviour.NOT_ENOUGH:
        raise ApiError(403, "NOT_ENOUGH", "用户余额不足，请用户换卡支付")
    now = sim.now()
    order = Order(
        sp_mchid=mchid,
        sp_appid=request.sp_appid,
        sub_mchid=request.sub_mchid,
        sub_appid=request.sub_appid,
        out_trade_no=request.out_trade_no,
        description=request.description,
        attach=request.attach,
        notify_url="",
        total=request.total,
        currency=request.currency,
        sp_openid=openid_for(sim, request.sp_appid),
        sub_openid=openid_for(sim, request.sub_appid) if request.sub_appid else None,
        created_at=now,
        expire_at=now + REVERSE_WINDOW_SECONDS,
        fingerprint=request.fingerprint,
        trade_type="MICROPAY",
        auth_code=request.auth_code,
    )
    if behaviour == PayerBehaviour.PAYS:
        mark_paid(order, now)
        sim.state.add_order(order)
        sim.state.index_transaction(order)
    else:
        order.trade_state = "USERPAYING"
        if behaviour == PayerBehaviour.ENTERS_PIN:
            order.confirm_at = now + sim.config.password_seconds * sim.config.time_scale
            order.prompt_open = True
        sim.state.add_order(order)
    sim.state.save_order(order)
    return order


def _retry(sim: Simulator, order: Order, request: CodepayRequest) -> Order:
    """The same out_trade_no again (reference part 2, §11 "out_trade_no idempotency")."""
    sim.state.refresh(order)
    if order.trade_type != "MICROPAY":
        raise ApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复（已用于其他支付方式）")
    if order.trade_state == "REVOKED":
        raise ApiError(400, "ORDER_REVERSED", "订单已撤销", internal=InternalCode.ORDER_EXPIRED)
    refuse_paid_or_closed(sim, order)
    if order.auth_code != request.auth_code:
        raise ApiError(403, "TRADE_ERROR", "请求非法，请更换订单号再发起（付款码已变化）")
    if order.fingerprint != request.fingerprint:
        raise ApiError(
            403,
            "OUT_TRADE_NO_USED",
            "商户订单号重复（请求重入时，参数与首次请求时不一致）",
            internal=InternalCode.PARAMS_CHANGED,
        )
    if order.trade_state != "USERPAYING":  # PAYERROR: the payer's bank refused
        raise ApiError(400, "TRADE_ERROR", "支付失败，请撤销订单")
    return order
