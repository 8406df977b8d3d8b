"""How orders and refunds look in Open API 2.0 (reference sections 6, 7.2 and 8.2): method answers
and 2.0 notifications. Pure. The same records render in 1.0 through ``payments.views``: one order
table, two views.

jubao's ``ins_order_sn`` (机构订单号: the number the channel and the payer's receipt show) is its
``order_sn``; ``channel_order_sn`` is the channel's own transaction id.
"""

from __future__ import annotations

from typing import Any

from jubao.channels.base import ChannelTradeNo, QrContent, RedirectUrl, WalletPackage
from jubao.clock import CHINA, from_ms
from jubao.kinds import ChannelName
from jubao.money import fen_to_yuan
from jubao.payments import instructions
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.payments.states import OrderState, RefundState
from jubao.payments.views import merchant_refund_sn

__all__ = [
    "close_answer",
    "create_answer",
    "finish_time",
    "order_status",
    "order_view",
    "refund_notification",
    "refund_view",
    "wap_answer",
]

_PAY_TYPES = {
    ChannelName.WECHATPAY: "wxpay",
    ChannelName.ALIPAY: "alipay",
    ChannelName.UNIONPAY: "unionpay",
}

# 2.0 knows no REVOKED_ERROR: a refused reverse is still unresolved, as REVOKING says.
_ORDER_STATUS = {
    OrderState.USERPAYING: "USERPAYING",
    OrderState.SUCCESS: "SUCCESS",
    OrderState.CLOSED: "CLOSED",
    OrderState.REVOKING: "REVOKING",
    OrderState.REVOKED: "REVOKED",
    OrderState.REVOKED_ERROR: "REVOKING",
}

_REFUND_STATUS = {
    RefundState.PROCESSING: "REFUND_PROCESSING",
    RefundState.SUCCESS: "REFUND_SUCCESS",
    RefundState.FAILED: "REFUND_FAIL",
}


def order_status(state: OrderState) -> str:
    return _ORDER_STATUS[state]


def finish_time(ms: int | None) -> str:
    """``yyyyMMddHHmmss`` in China time; empty while there is none."""
    return from_ms(ms).astimezone(CHINA).strftime("%Y%m%d%H%M%S") if ms else ""


def order_view(order: OrderRecord) -> dict[str, Any]:
    """The order fields of ``fbpay.order.pay`` and ``.query`` (reference 6); also the payment
    notification's ``data`` (``uid`` is the merchant, as Fubei's callback names it)."""
    fee = 0  # jubao charges no fee of its own
    paid = order.state == OrderState.SUCCESS
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "ins_order_sn": order.order_sn,
        "channel_order_sn": order.channel_trade_no or "",
        "merchant_id": order.merchant_id,
        "uid": order.merchant_id,
        "store_id": order.store_id,
        "cashier_id": order.cashier_id,
        "order_status": order_status(order.state),
        "pay_type": _PAY_TYPES[order.channel],
        "total_amount": fen_to_yuan(order.total_fen),
        "net_amount": fen_to_yuan(order.total_fen - fee),
        "buyer_pay_amount": fen_to_yuan(order.total_fen if paid else 0),
        "fee": fen_to_yuan(fee),
        "user_id": order.payer_id or "",
        "finish_time": finish_time(order.paid_at),
        "device_no": "",
        "body": order.body or "",
        "attach": order.attach or "",
        "payment_list": [],
        "is_can_part_refund": 1 if order.refundable_fen > 0 else 0,
    }


def create_answer(order: OrderRecord) -> dict[str, Any]:
    """``fbpay.order.create``: WeChat's ``prepay_id`` with its ``sign_package`` (the object
    ``WeixinJSBridge`` takes), or Alipay's trade number as ``prepay_id``."""
    assert order.instruction is not None  # answered only once the instruction is stored
    instruction = instructions.decode(order.instruction, order.prepay_id)
    answer: dict[str, Any] = {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "merchant_id": order.merchant_id,
        "pay_type": _PAY_TYPES[order.channel],
        "total_amount": fen_to_yuan(order.total_fen),
        "store_id": order.store_id,
        "cashier_id": order.cashier_id,
        "user_id": order.payer_id or "",
        "device_no": "",
        "attach": order.attach or "",
    }
    if isinstance(instruction, WalletPackage):
        answer["prepay_id"] = instruction.prepay_id
        answer["sign_package"] = dict(instruction.params)
    elif isinstance(instruction, ChannelTradeNo):
        answer["prepay_id"] = instruction.trade_no
    else:  # pragma: no cover - fbpay.order.create asks for JSAPI only
        raise AssertionError(f"unexpected instruction for create: {type(instruction).__name__}")
    return answer


def wap_answer(order: OrderRecord) -> dict[str, Any]:
    """``fbpay.order.wap.create``: ``html`` is the address of the channel's payment page."""
    assert order.instruction is not None
    instruction = instructions.decode(order.instruction, order.prepay_id)
    assert isinstance(instruction, RedirectUrl | QrContent)
    url = instruction.url if isinstance(instruction, RedirectUrl) else instruction.code
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "merchant_id": order.merchant_id,
        "total_amount": fen_to_yuan(order.total_fen),
        "store_id": order.store_id,
        "html": url,
    }


def close_answer(order: OrderRecord) -> dict[str, Any]:
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "order_status": order_status(order.state),
        "device_no": "",
    }


def refund_view(order: OrderRecord, refund: RefundRecord) -> dict[str, Any]:
    """``fbpay.order.refund`` and ``.refund.query`` (reference 6)."""
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "ins_order_sn": order.order_sn,
        "refund_sn": refund.refund_sn,
        "merchant_refund_sn": merchant_refund_sn(refund),
        "refund_amount": fen_to_yuan(refund.refund_fen),
        "buyer_refund_amount": fen_to_yuan(
            refund.refund_fen if refund.status == RefundState.SUCCESS else 0
        ),
        "refund_status": _REFUND_STATUS[refund.status],
        "finish_time": finish_time(refund.finished_at),
        "handler": "",
        "device_no": "",
    }


def refund_notification(order: OrderRecord, refund: RefundRecord) -> dict[str, Any]:
    """The refund notification's ``data`` (reference 8.2)."""
    view = refund_view(order, refund)
    view["refund_fee"] = view["refund_amount"]
    view["merchant_id"] = order.merchant_id
    return view
