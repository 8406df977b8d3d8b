"""One ``Operation`` per Open API 2.0 method (the same ``Operation`` the 1.0 client runs).

Safe to retry (the gateway replays or changes nothing on a repeat): query, close, refund query,
callback config, and every order-creating method (protected by the required
``merchant_order_sn``: an identical retry replays, a payment code is never submitted twice);
refund *only when* the caller gave ``merchant_refund_sn``.
"""

from __future__ import annotations

from jubao.client.operations import Operation
from jubao.client.v2.request_models import (
    CallbackConfigRequest,
    CloseRequest,
    CreateOrderRequest,
    FixedQrcodeRequest,
    OrderQueryRequest,
    PayRequest,
    QrcodeOrderRequest,
    RefundQueryRequest,
    RefundRequest,
    WapOrderRequest,
)
from jubao.client.v2.response_models import (
    CallbackConfig,
    ClosedOrder,
    CreatedOrder,
    FixedQrcode,
    Order,
    QrcodeOrder,
    Refund,
    WapOrder,
)

__all__ = [
    "CALLBACK_CONFIG",
    "CLOSE",
    "CREATE",
    "FIXED_QRCODE",
    "METHODS",
    "PAY",
    "QRCODE",
    "QUERY",
    "REFUND",
    "REFUND_QUERY",
    "WAP_CREATE",
    "callback_config",
    "close_order",
    "create",
    "fixed_qrcode",
    "pay",
    "qrcode",
    "query",
    "refund",
    "refund_query",
    "wap_create",
]

PAY = "fbpay.order.pay"
CREATE = "fbpay.order.create"
QUERY = "fbpay.order.query"
CLOSE = "fbpay.order.close"
REFUND = "fbpay.order.refund"
REFUND_QUERY = "fbpay.order.refund.query"
QRCODE = "fbpay.order.qrcode"
FIXED_QRCODE = "fbpay.fixed.qrcode.create"
WAP_CREATE = "fbpay.order.wap.create"
CALLBACK_CONFIG = "fbpay.pay.callback.config"
METHODS = (
    PAY, CREATE, QUERY, CLOSE, REFUND, REFUND_QUERY, QRCODE, FIXED_QRCODE, WAP_CREATE,
    CALLBACK_CONFIG,
)  # fmt: skip


def pay(request: PayRequest) -> Operation[Order]:
    return Operation(PAY, request.biz(), True, Order.from_wire)


def create(request: CreateOrderRequest) -> Operation[CreatedOrder]:
    return Operation(CREATE, request.biz(), True, CreatedOrder.from_wire)


def query(request: OrderQueryRequest) -> Operation[Order]:
    return Operation(QUERY, request.biz(), True, Order.from_wire)


def close_order(request: CloseRequest) -> Operation[ClosedOrder]:
    return Operation(CLOSE, request.biz(), True, ClosedOrder.from_wire)


def refund(request: RefundRequest) -> Operation[Refund]:
    return Operation(REFUND, request.biz(), bool(request.merchant_refund_sn), Refund.from_wire)


def refund_query(request: RefundQueryRequest) -> Operation[Refund]:
    return Operation(REFUND_QUERY, request.biz(), True, Refund.from_wire)


def qrcode(request: QrcodeOrderRequest) -> Operation[QrcodeOrder]:
    return Operation(QRCODE, request.biz(), True, QrcodeOrder.from_wire)


def fixed_qrcode(request: FixedQrcodeRequest) -> Operation[FixedQrcode]:
    return Operation(FIXED_QRCODE, request.biz(), True, FixedQrcode.from_wire)


def wap_create(request: WapOrderRequest) -> Operation[WapOrder]:
    return Operation(WAP_CREATE, request.biz(), True, WapOrder.from_wire)


def callback_config(request: CallbackConfigRequest) -> Operation[CallbackConfig]:
    return Operation(CALLBACK_CONFIG, request.biz(), True, CallbackConfig.from_wire)
