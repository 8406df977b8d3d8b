"""jubao's Python SDK for the Fubei (付呗) Open API 2.0 (``fbpay.*`` on ``/gateway/agent``).

    from decimal import Decimal
    from jubao.client.v2 import JubaoV2Client, PayRequest, VendorCredentials

    credentials = VendorCredentials(vendor_sn, vendor_secret, merchant_id=merchant_id)
    with JubaoV2Client(credentials, "http://127.0.0.1:8600") as client:
        order = client.pay(PayRequest(merchant_order_sn="A1", auth_code=code,
                                      total_amount=Decimal("0.01")))

Merchant level: ``AppCredentials(app_id, app_secret)``. ``AsyncJubaoV2Client`` has the same
methods, awaited. Both run on the 1.0 client's sans-IO core (``jubao.client.core``): the same
signing, envelope parsing, errors (``jubao.client.errors``) and retry policy. See
docs/quickstart.md.
"""

from jubao.client.v2.async_client import AsyncJubaoV2Client
from jubao.client.v2.credentials import AppCredentials, Credentials, VendorCredentials
from jubao.client.v2.enums import OrderStatus, PayType, RefundStatus
from jubao.client.v2.notifications import (
    NOTIFICATION_ACK,
    Notification,
    PaymentNotification,
    RefundNotification,
    parse_notification,
)
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
    PaymentItem,
    QrcodeOrder,
    Refund,
    SignPackage,
    WapOrder,
)
from jubao.client.v2.sync_client import JubaoV2Client

__all__ = [
    "NOTIFICATION_ACK",
    "AppCredentials",
    "AsyncJubaoV2Client",
    "CallbackConfig",
    "CallbackConfigRequest",
    "CloseRequest",
    "ClosedOrder",
    "CreateOrderRequest",
    "CreatedOrder",
    "Credentials",
    "FixedQrcode",
    "FixedQrcodeRequest",
    "JubaoV2Client",
    "Notification",
    "Order",
    "OrderQueryRequest",
    "OrderStatus",
    "PayRequest",
    "PayType",
    "PaymentItem",
    "PaymentNotification",
    "QrcodeOrder",
    "QrcodeOrderRequest",
    "Refund",
    "RefundNotification",
    "RefundQueryRequest",
    "RefundRequest",
    "RefundStatus",
    "SignPackage",
    "VendorCredentials",
    "WapOrder",
    "WapOrderRequest",
    "parse_notification",
]
