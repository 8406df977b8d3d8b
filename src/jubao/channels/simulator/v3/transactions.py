"""An order once opened, whatever way it was paid: query by out_trade_no or transaction_id,
and close (reference §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.models import transaction_json
from jubao.channels.simulator.rules import CloseRequest, parse_close
from jubao.channels.simulator.state import PAID_STATES
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.checks import check_mchid, order_not_exist, order_paid, sub_appids

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = [
    "close",
    "handle_close",
    "handle_query_by_out_trade_no",
    "handle_query_by_transaction_id",
    "query_by_out_trade_no",
    "query_by_transaction_id",
]


def handle_query_by_out_trade_no(sim: Simulator, call: Call) -> Answer:
    sp_mchid, sub_mchid = call.require("sp_mchid", "sub_mchid")
    return 200, query_by_out_trade_no(
        sim, call.mchid, sp_mchid, sub_mchid, call.path["out_trade_no"]
    )


def handle_query_by_transaction_id(sim: Simulator, call: Call) -> Answer:
    sp_mchid, sub_mchid = call.require("sp_mchid", "sub_mchid")
    transaction_id = call.path["transaction_id"]
    return 200, query_by_transaction_id(sim, call.mchid, sp_mchid, sub_mchid, transaction_id)


def handle_close(sim: Simulator, call: Call) -> Answer:
    close(sim, call.mchid, call.path["out_trade_no"], parse_close(call.json()))
    return 204, None


def query_by_out_trade_no(
    sim: Simulator, mchid: str, sp_mchid: str, sub_mchid: str, out_trade_no: str
) -> dict[str, Any]:
    check_mchid(mchid, sp_mchid)
    sub_appids(sim, sp_mchid, sub_mchid, status=400)
    order = sim.state.order(sp_mchid, out_trade_no)
    if order is None or order.sub_mchid != sub_mchid:
        raise order_not_exist()
    sim.state.refresh(order)
    return transaction_json(order)


def query_by_transaction_id(
    sim: Simulator, mchid: str, sp_mchid: str, sub_mchid: str, transaction_id: str
) -> dict[str, Any]:
    check_mchid(mchid, sp_mchid)
    sub_appids(sim, sp_mchid, sub_mchid, status=400)
    order = sim.state.order_by_transaction(transaction_id)
    if order is None or order.sp_mchid != sp_mchid or order.sub_mchid != sub_mchid:
        raise order_not_exist()
    return transaction_json(order)


def close(sim: Simulator, mchid: str, out_trade_no: str, request: CloseRequest) -> None:
    check_mchid(mchid, request.sp_mchid)
    sub_appids(sim, request.sp_mchid, request.sub_mchid, status=400)
    order = sim.state.order(request.sp_mchid, out_trade_no)
    if order is None or order.sub_mchid != request.sub_mchid:
        raise order_not_exist()
    sim.state.refresh(order)
    if order.trade_type == "MICROPAY":
        raise ApiError(403, "TRADE_ERROR", "付款码支付的订单不能关单，请使用撤销")
    if order.trade_state in PAID_STATES:
        raise order_paid(sim)
    if order.trade_state == "NOTPAY":
        order.trade_state = "CLOSED"
        order.closed_at = sim.now()
        sim.state.save_order(order)
