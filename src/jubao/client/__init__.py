"""jubao's Python merchant SDK for the Fubei (付呗) Open API 1.0.

    from decimal import Decimal
    from jubao.client import JubaoClient, MinaRequest

    with JubaoClient(app_id, app_secret, "http://127.0.0.1:8600") as client:
        order = client.mina(MinaRequest(merchant_order_sn="A1", sub_openid=openid,
                                        store_id=store_id, total_fee=Decimal("0.01")))
        # hand order.sign_params.as_dict() to wx.requestPayment in the mini-program

``AsyncJubaoClient`` has the same methods, awaited. Both share one sans-IO core
(``jubao.client.core``). This package imports only ``jubao.protocol``, ``jubao.money`` and
``jubao.errors`` of jubao: never server code. See docs/quickstart.md.
"""

from jubao.client.async_client import AsyncJubaoClient
from jubao.client.errors import (
    ApiError,
    ChannelRefused,
    InvalidNotification,
    InvalidParameter,
    InvalidResponse,
    JubaoClientError,
    MerchantNotFound,
    NotificationError,
    NotificationSignatureError,
    NumberAlreadyUsed,
    SignatureRejected,
    TransportError,
)
from jubao.client.notifications import (
    NOTIFICATION_ACK,
    Notification,
    PaymentNotification,
    RefundNotification,
    parse_notification,
)
from jubao.client.request_models import (
    AlipayH5Request,
    AuthRequest,
    CloseRequest,
    H5payRequest,
    MinaRequest,
    OrderQueryRequest,
    RefundQueryRequest,
    RefundRequest,
    RefundStatisticsRequest,
    ReverseRequest,
    ScanRequest,
    SwipeRequest,
)
from jubao.client.response_models import (
    AlipayH5Response,
    AuthUrl,
    CloseResponse,
    H5payResponse,
    MinaResponse,
    Order,
    Refund,
    RefundStatistics,
    ReverseResponse,
    ScanResponse,
    ServerTime,
    SignParams,
)
from jubao.client.sync_client import JubaoClient

__all__ = [
    "NOTIFICATION_ACK",
    "AlipayH5Request",
    "AlipayH5Response",
    "ApiError",
    "AsyncJubaoClient",
    "AuthRequest",
    "AuthUrl",
    "ChannelRefused",
    "CloseRequest",
    "CloseResponse",
    "H5payRequest",
    "H5payResponse",
    "InvalidNotification",
    "InvalidParameter",
    "InvalidResponse",
    "JubaoClient",
    "JubaoClientError",
    "MerchantNotFound",
    "MinaRequest",
    "MinaResponse",
    "Notification",
    "NotificationError",
    "NotificationSignatureError",
    "NumberAlreadyUsed",
    "Order",
    "OrderQueryRequest",
    "PaymentNotification",
    "Refund",
    "RefundNotification",
    "RefundQueryRequest",
    "RefundRequest",
    "RefundStatistics",
    "RefundStatisticsRequest",
    "ReverseRequest",
    "ReverseResponse",
    "ScanRequest",
    "ScanResponse",
    "ServerTime",
    "SignParams",
    "SignatureRejected",
    "SwipeRequest",
    "TransportError",
    "parse_notification",
]
