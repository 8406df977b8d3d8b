"""Checks and refusals shared by the v3 operations (reference §5 for the codes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jubao.channels.simulator.errors import ApiError, InternalCode
from jubao.channels.simulator.models import Order
from jubao.channels.simulator.state import PAID_STATES

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = [
    "check_mchid",
    "order_not_exist",
    "order_paid",
    "refuse_paid_or_closed",
    "sub_appids",
]


def check_mchid(header_mchid: str, body_mchid: str) -> None:
    """The signer must be the provider the request names."""
    if header_mchid != body_mchid:
        raise ApiError(
            401,
            "SIGN_ERROR",
            f"Authorization 中的 mchid {header_mchid} 与请求中的 sp_mchid {body_mchid} 不一致",
            internal=InternalCode.SIGN_ERROR,
        )


def sub_appids(sim: Simulator, sp_mchid: str, sub_mchid: str, *, status: int) -> set[str]:
    """The sub-merchant's bound sub_appids; MCH_NOT_EXISTS (with ``status``) when not bound."""
    appids = sim.state.sub_appids(sp_mchid, sub_mchid)
    if appids is None:
        raise ApiError(status, "MCH_NOT_EXISTS", f"子商户号 {sub_mchid} 不存在或未与服务商绑定")
    return appids


def order_not_exist() -> ApiError:
    return ApiError(404, "ORDER_NOT_EXIST", "订单不存在", internal=InternalCode.ORDER_NOT_EXIST)


def order_paid(sim: Simulator) -> ApiError:
    return ApiError(
        400, sim.config.order_paid_code, "该订单已支付", internal=InternalCode.ORDER_PAID
    )


def refuse_paid_or_closed(sim: Simulator, order: Order) -> None:
    if order.trade_state in PAID_STATES:
        raise order_paid(sim)
    if order.trade_state == "CLOSED":
        raise ApiError(
            400,
            "ORDER_CLOSED",
            "该订单已失效（已关闭或已过期）",
            internal=InternalCode.ORDER_EXPIRED,
        )


def check_partner(
    sim: Simulator,
    mchid: str,
    sp_mchid: str,
    sp_appid: str,
    sub_mchid: str,
    sub_appid: str | None,
) -> None:
    """A partner order's identities: the signer is the body's sp_mchid, sp_appid is bound to
    it, the sub-merchant is its own, and sub_appid (when given) bound to that sub-merchant."""
    check_mchid(mchid, sp_mchid)
    found = sim.state.merchant(mchid)
    assert found is not None  # the signer is a known provider
    if sp_appid not in found[0].sp_appids:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "sp_appid 与 sp_mchid 不匹配")
    appids = sub_appids(sim, mchid, sub_mchid, status=400)
    if sub_appid is not None and sub_appid not in appids:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "sub_appid 与 sub_mchid 不匹配")
