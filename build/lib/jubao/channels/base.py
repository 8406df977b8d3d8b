"""The contract between the payment service and an upstream channel.

The service never sees WeChat's wire format: it speaks in these value types, and a concrete
channel (``channels.wechatpay``) translates. Amounts are integer fen. Times are aware datetimes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "Channel",
    "ChannelBinding",
    "ChannelRefund",
    "ChannelTransaction",
    "PrepayRequest",
    "RefundEvent",
    "RefundRequest",
    "RefundStatus",
    "SignParams",
    "TradeStatus",
    "TransactionEvent",
]


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    """A merchant's sub-merchant identity at the channel (WeChat partner mode)."""

    sub_mchid: str
    sub_appid: str


class TradeStatus(enum.Enum):
    """What the channel says about a payment. Unknown upstream states map to PENDING."""

    PENDING = "PENDING"  # NOTPAY, USERPAYING, or anything unknown: ask again later
    PAID = "PAID"  # SUCCESS, or REFUND (paid, then a refund was requested)
    CLOSED = "CLOSED"  # CLOSED, REVOKED
    FAILED = "FAILED"  # PAYERROR


class RefundStatus(enum.Enum):
    PROCESSING = "PROCESSING"  # PROCESSING, or anything unknown
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"  # CLOSED, ABNORMAL


@dataclass(frozen=True, slots=True)
class PrepayRequest:
    binding: ChannelBinding
    out_trade_no: str
    description: str
    total_fen: int
    payer_sub_openid: str
    notify_url: str
    time_expire: datetime
    attach: str | None = None


@dataclass(frozen=True, slots=True)
class SignParams:
    """The package a mini-program passes to ``wx.requestPayment``."""

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str

    def as_wire(self) -> dict[str, str]:
        return {
            "appId": self.app_id,
            "timeStamp": self.time_stamp,
            "nonceStr": self.nonce_str,
            "package": self.package,
            "signType": self.sign_type,
            "paySign": self.pay_sign,
        }


@dataclass(frozen=True, slots=True)
class ChannelTransaction:
    out_trade_no: str
    status: TradeStatus
    total_fen: int | None = None
    transaction_id: str | None = None
    success_time: datetime | None = None
    payer_openid: str | None = None
    raw_state: str = ""


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
    """A verified, decrypted payment notification."""

    event_id: str
    transaction: ChannelTransaction
    sub_mchid: str | None = None


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """A verified, decrypted refund notification."""

    event_id: str
    refund: ChannelRefund
    sub_mchid: str | None = None


class Channel(Protocol):
    """An upstream payment channel. Errors raise ``jubao.errors.ChannelError`` (business answer)
    or ``jubao.errors.ChannelUnavailable`` (network, timeout, 5xx, bad signature on a response)."""

    async def prepay(self, request: PrepayRequest) -> str:
        """Create the upstream order; return its prepay id."""
        ...

    def sign_params(self, app_id: str, prepay_id: str) -> SignParams:
        """Build and sign the mini-program payment package (CPU only, no I/O)."""
        ...

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction: ...

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None: ...

    async def refund(self, request: RefundRequest) -> ChannelRefund: ...

    async def query_refund(self, binding: ChannelBinding, out_refund_no: str) -> ChannelRefund: ...

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        """Verify (signature, timestamp window) and decrypt a callback; raise
        ``jubao.errors.ChannelNotificationRejected`` when it cannot be trusted."""
        ...

    async def aclose(self) -> None: ...
