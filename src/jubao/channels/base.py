"""The contract between the payment service and every upstream channel.

The service never sees a channel's wire format: it speaks in these value types, and a concrete
channel (``channels.wechatpay``, ``channels.alipay``) translates. Amounts are integer fen; times
are aware datetimes; a channel's business refusal is a ``ChannelError`` whose ``kind``
(``jubao.errors.ChannelErrorKind``) is channel-neutral, and anything whose outcome is unknown is
``ChannelUnavailable``.

Creating a payment returns a *payment instruction*, one type per way a payer can be reached:

    WalletPackage     a signed package the wallet's SDK takes (mini-program, JSAPI)
    QrContent         what the customer's wallet must scan (native QR)
    RedirectUrl       a page the browser is sent to (H5)
    ChannelTradeNo    a trade number the wallet's JS API pays (Alipay JSAPI: my.tradePay)
    ImmediateOutcome  a payment code's result: paid, or waiting for the payer's password
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from jubao.kinds import ChannelName, Scene

__all__ = [
    "Channel",
    "ChannelBinding",
    "ChannelRefund",
    "ChannelTradeNo",
    "ChannelTransaction",
    "ImmediateOutcome",
    "NotificationAnswer",
    "PaymentInstruction",
    "PaymentRequest",
    "QrContent",
    "RedirectUrl",
    "RefundEvent",
    "RefundRequest",
    "RefundStatus",
    "StatementLine",
    "TradeStatus",
    "TransactionEvent",
    "WalletPackage",
]


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    """A merchant's identity at one channel.

    ``merchant_id``: the sub-merchant the service provider acts for (WeChat ``sub_mchid``,
    Alipay's merchant ``pid``). ``app_id``: the merchant's app for the scene at hand (WeChat
    ``sub_appid`` of the mini-program or official account), if the channel needs one.
    ``auth_token``: a credential the channel needs per merchant (Alipay ``app_auth_token``).
    """

    channel: ChannelName
    merchant_id: str
    app_id: str | None = None
    auth_token: str | None = field(default=None, repr=False)


class TradeStatus(enum.Enum):
    """What the channel says about a payment. Unknown upstream states map to PENDING."""

    PENDING = "PENDING"  # waiting for the payer, or anything unknown: ask again later
    PAID = "PAID"  # paid (a refund requested since does not undo the payment)
    CLOSED = "CLOSED"  # closed unpaid
    REVOKED = "REVOKED"  # reversed: closed if unpaid, the money returned if paid
    FAILED = "FAILED"  # the payment failed for good


class RefundStatus(enum.Enum):
    PROCESSING = "PROCESSING"  # or anything unknown
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """Create a payment at the channel. ``payer_id`` is the payer in the channel's terms (WeChat
    openid under ``binding.app_id``, Alipay ``buyer_id``) where the scene knows it beforehand;
    ``auth_code`` is the customer's payment code in the barcode scene."""

    binding: ChannelBinding
    scene: Scene
    out_trade_no: str
    description: str
    total_fen: int
    notify_url: str
    time_expire: datetime
    payer_id: str | None = None
    auth_code: str | None = field(default=None, repr=False)
    attach: str | None = None
    client_ip: str | None = None
    store_ref: str | None = None  # the merchant's store, where a channel wants to know it
    return_url: str | None = None  # a page scene: where the payer's browser goes back to


@dataclass(frozen=True, slots=True)
class ChannelTransaction:
    out_trade_no: str
    status: TradeStatus
    total_fen: int | None = None
    transaction_id: str | None = None
    success_time: datetime | None = None
    payer_id: str | None = None
    raw_state: str = ""
    merchant_id: str | None = None  # the sub-merchant the channel says it belongs to


@dataclass(frozen=True, slots=True)
class WalletPackage:
    """Parameters the payer's wallet SDK takes, signed by the channel adapter, in wire order
    (``wx.requestPayment`` / ``WeixinJSBridge.invoke('getBrandWCPayRequest')``)."""

    prepay_id: str
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class QrContent:
    """The text a QR code must carry for the customer's wallet to scan."""

    prepay_id: str | None
    code: str


@dataclass(frozen=True, slots=True)
class RedirectUrl:
    prepay_id: str | None
    url: str


@dataclass(frozen=True, slots=True)
class ChannelTradeNo:
    """The channel's trade number, which the wallet's JS API pays (Alipay JSAPI)."""

    trade_no: str


@dataclass(frozen=True, slots=True)
class ImmediateOutcome:
    """A payment code's answer: ``transaction.status`` is PAID, or PENDING while the payer
    confirms on their phone. A declined code raises ``ChannelError`` instead."""

    transaction: ChannelTransaction


PaymentInstruction = WalletPackage | QrContent | RedirectUrl | ChannelTradeNo | ImmediateOutcome


@dataclass(frozen=True, slots=True)
class RefundRequest:
    binding: ChannelBinding
    out_trade_no: str
    out_refund_no: str
    refund_fen: int
    total_fen: int
    notify_url: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelRefund:
    out_refund_no: str
    status: RefundStatus
    refund_id: str | None = None
    out_trade_no: str | None = None
    refund_fen: int | None = None
    success_time: datetime | None = None
    raw_status: str = ""


@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """A verified payment notification."""

    event_id: str
    transaction: ChannelTransaction
    merchant_id: str | None = None  # the sub-merchant the notification names, if it names one


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """A verified refund notification."""

    event_id: str
    refund: ChannelRefund
    merchant_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a channel's statement for a day: a payment (``refund_fen`` 0) or a refund."""

    out_trade_no: str
    transaction_id: str
    total_fen: int
    refund_fen: int = 0
    out_refund_no: str | None = None
    occurred_at: datetime | None = None
    merchant_id: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationAnswer:
    """What the channel's notification endpoint answers, in the channel's own convention (WeChat:
    204 or a JSON ``FAIL``; Alipay: the text ``success`` or anything else)."""

    status: int
    body: bytes = b""
    media_type: str | None = None


class Channel(Protocol):
    """An upstream payment channel. Every network operation raises ``ChannelError`` for a
    business answer and ``ChannelUnavailable`` for an unknown outcome (network, timeout, 5xx,
    an answer whose signature does not verify)."""

    @property
    def name(self) -> ChannelName: ...

    def supports(self, scene: Scene) -> bool:
        """Whether ``create_payment`` takes this scene (pure)."""
        ...

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction: ...

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction: ...

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None: ...

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        """Reverse a payment-code trade: close it if unpaid, refund it in full if paid."""
        ...

    async def refund(self, request: RefundRequest) -> ChannelRefund: ...

    async def query_refund(
        self, binding: ChannelBinding, out_trade_no: str, out_refund_no: str
    ) -> ChannelRefund: ...

    async def fetch_statement(self, day: date) -> list[StatementLine]:
        """The channel's statement of trades and refunds for a (China-time) day."""
        ...

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        """Verify (signature, freshness) and decode a callback; raise
        ``jubao.errors.ChannelNotificationRejected`` when it cannot be trusted."""
        ...

    def notification_answer(self, accepted: bool, reason: str = "") -> NotificationAnswer:
        """The reply to a notification: ``accepted`` once its state change is committed."""
        ...

    async def aclose(self) -> None: ...
