"""How orders and refunds look on the wire (method answers and merchant notifications). Pure."""

from __future__ import annotations

from typing import Any

from jubao.channels.base import ChannelTradeNo, QrContent, WalletPackage
from jubao.money import fen_to_yuan
from jubao.payments import instructions
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.payments.states import OrderState

__all__ = [
    "alipay_h5_answer",
    "merchant_refund_sn",
    "order_view",
    "refund_view",
    "scan_answer",
    "wallet_answer",
]

_NO_YUAN = fen_to_yuan(0)  # 0.00 (a Decimal is immutable: one serves every answer)


def order_view(order: OrderRecord) -> dict[str, Any]:
    """The fields of ``openapi.payment.order.query`` (reference 5.6); also the notification data."""
    # jubao charges no fee of its own (the channel's is settled outside this API): the net is the
    # total, and nothing is discounted
    total = fen_to_yuan(order.total_fen)
    paid = order.state == OrderState.SUCCESS
    return {
        "merchant_order_sn": order.merchant_order_sn,
        "order_sn": order.order_sn,
        "trade_no": order.order_sn,
        "platform_order_no": order.channel_trade_no or "",
        "trade_state": order.state.value,
        "total_fee": total,
        "fee": _NO_YUAN,
        "net_money": total,
        "buyer_pay_amount": total if paid else _NO_YUAN,
        "discount_money": _NO_YUAN,
        "pay_time": (order.paid_at // 1000) if order.paid_at else 0,
        "store_id": order.store_id,
        "cashier_id": order.cashier_id,
        "device_no": "",
        "body": order.body or "",
        "attach": order.attach or "",
        "type": order.channel.fubei_type,
        "user_id": order.payer_id or "",
        "user_logon_id": "",
    }


def merchant_refund_sn(refund: RefundRecord) -> str:
    """Empty for a refund asked without one, as Fubei answers it (jubao then keys the refund on
    its own refund_sn, so the stored value equals refund_sn); both API generations."""
    return "" if refund.merchant_refund_sn == refund.refund_sn else refund.merchant_refund_sn


def refund_view(order: OrderRecord, refund: RefundRecord) -> dict[str, Any]:
    """The fields of ``openapi.payment.order.refund`` / ``.refund.query`` (reference 5.9, 5.10)."""
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "trade_no": order.order_sn,
        "refund_sn": refund.refund_sn,
        "merchant_refund_sn": merchant_refund_sn(refund),
        "refund_money": fen_to_yuan(refund.refund_fen),
        "refund_status": refund.status.wire,
        "refund_time": (refund.finished_at // 1000) if refund.finished_at else 0,
    }


def wallet_answer(order: OrderRecord) -> dict[str, Any]:
    """``openapi.payment.order.mina`` and ``.h5pay`` (reference 5.4, 5.3): the wallet package
    from the stored instruction, so every identical retry answers the same bytes."""
    assert order.instruction is not None  # answered only once the instruction is stored
    package = instructions.decode(order.instruction, order.prepay_id)
    assert isinstance(package, WalletPackage)
    return {
        "prepay_id": package.prepay_id,
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "sign_params": dict(package.params),
        "store_id": order.store_id,
        "cashier_id": order.cashier_id,
        "user_id": order.payer_id or "",
    }


def scan_answer(order: OrderRecord) -> dict[str, Any]:
    """``openapi.payment.order.scan`` (reference 5.2): the QR code's content."""
    assert order.instruction is not None
    qr = instructions.decode(order.instruction, order.prepay_id)
    assert isinstance(qr, QrContent)
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "trade_no": order.order_sn,
        "qr_code": qr.code,
        "store_id": order.store_id,
        "cashier_id": order.cashier_id,
        "user_id": order.payer_id or "",
    }


def alipay_h5_answer(order: OrderRecord) -> dict[str, Any]:
    """``openapi.payment.Alipay.H5`` (reference 5.5): ``prepay_id`` is Alipay's ``trade_no``,
    which the page hands to ``my.tradePay`` / ``AlipayJSBridge.call('tradePay')``."""
    assert order.instruction is not None
    trade = instructions.decode(order.instruction, order.prepay_id)
    assert isinstance(trade, ChannelTradeNo)
    return {
        "order_sn": order.order_sn,
        "merchant_order_sn": order.merchant_order_sn,
        "prepay_id": trade.trade_no,
        "store_id": order.store_id,
        "cashier_id": order.cashier_id,
        "user_id": order.payer_id or "",
        "user_logon_id": "",
    }
