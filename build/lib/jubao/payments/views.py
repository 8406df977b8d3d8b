"""How orders and refunds look on the wire (query answers and merchant notifications)."""

from __future__ import annotations

from typing import Any

from jubao.money import fen_to_yuan
from jubao.payments.states import RefundState
from jubao.storage.sql import Row

__all__ = ["PAY_TYPE_WECHAT", "order_view", "refund_view"]

PAY_TYPE_WECHAT = 1


def order_view(order: Row) -> dict[str, Any]:
    """The fields of ``openapi.payment.order.query`` (reference 5.6); also the notification data."""
    fee = 0  # jubao charges no fee of its own; the channel's fee is settled outside this API
    paid = order["state"] == "SUCCESS"
    return {
        "merchant_order_sn": order["merchant_order_sn"],
        "order_sn": order["order_sn"],
        "trade_no": order["order_sn"],
        "platform_order_no": order["platform_order_no"] or "",
        "trade_state": order["state"],
        "total_fee": fen_to_yuan(order["total_fen"]),
        "fee": fen_to_yuan(fee),
        "net_money": fen_to_yuan(order["total_fen"] - fee),
        "buyer_pay_amount": fen_to_yuan(order["total_fen"] if paid else 0),
        "discount_money": fen_to_yuan(0),
        "pay_time": (order["paid_at"] // 1000) if order["paid_at"] else 0,
        "store_id": order["store_id"],
        "cashier_id": order["cashier_id"] or 0,
        "device_no": "",
        "body": order["body"] or "",
        "attach": order["attach"] or "",
        "type": PAY_TYPE_WECHAT,
        "user_id": order["user_id"] or order["sub_openid"],
        "user_logon_id": "",
    }


def refund_view(order: Row, refund: Row) -> dict[str, Any]:
    """The fields of ``openapi.payment.order.refund`` / ``.refund.query`` (reference 5.9, 5.10)."""
    return {
        "order_sn": order["order_sn"],
        "merchant_order_sn": order["merchant_order_sn"],
        "trade_no": order["order_sn"],
        "refund_sn": refund["refund_sn"],
        "merchant_refund_sn": refund["merchant_refund_sn"],
        "refund_money": fen_to_yuan(refund["refund_fen"]),
        "refund_status": RefundState(refund["status"]).wire,
        "refund_time": (refund["finished_at"] // 1000) if refund["finished_at"] else 0,
    }
