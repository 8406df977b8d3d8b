"""What the gateway answers: one frozen dataclass per answer shape (reference section 5).

Field names are the wire names (``total_fee``, ``refund_money``, ...), except ``type`` which is
``pay_type`` here, and the camelCase keys of ``sign_params``. Amounts are ``Decimal`` yuan with two
places; every amount also has an ``<name>_fen`` integer property. Unknown fields are ignored; fields
the reference does not promise get a neutral default (``""``, ``0``, ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

from jubao.client import reading as read

__all__ = [
    "AlipayH5Response",
    "AuthUrl",
    "CloseResponse",
    "H5payResponse",
    "MinaResponse",
    "Order",
    "Refund",
    "RefundStatistics",
    "ReverseResponse",
    "ScanResponse",
    "ServerTime",
    "SignParams",
]


def _fen(yuan: Decimal) -> int:
    return int(yuan.scaleb(2))


def _moment(epoch_seconds: int) -> datetime | None:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC) if epoch_seconds > 0 else None


@dataclass(frozen=True, slots=True)
class SignParams:
    """The package the mini-program hands to ``wx.requestPayment``; pass ``as_dict()`` verbatim."""

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SignParams:
        return cls(
            app_id=read.text(data, "appId"),
            time_stamp=read.text(data, "timeStamp"),
            nonce_str=read.text(data, "nonceStr"),
            package=read.text(data, "package"),
            sign_type=read.text(data, "signType"),
            pay_sign=read.text(data, "paySign"),
        )

    def as_dict(self) -> dict[str, str]:
        """The exact object for ``wx.requestPayment`` (camelCase keys, string values)."""
        return {
            "appId": self.app_id,
            "timeStamp": self.time_stamp,
            "nonceStr": self.nonce_str,
            "package": self.package,
            "signType": self.sign_type,
            "paySign": self.pay_sign,
        }


@dataclass(frozen=True, slots=True)
class MinaResponse:
    """``openapi.payment.order.mina``: the created (or replayed) order and its payment package."""

    prepay_id: str
    order_sn: str
    merchant_order_sn: str
    sign_params: SignParams
    store_id: int = 0
    cashier_id: int = 0
    user_id: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> MinaResponse:
        return cls(
            prepay_id=read.text(data, "prepay_id"),
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            sign_params=SignParams.from_wire(read.mapping(data, "sign_params")),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
            user_id=read.text(data, "user_id", ""),
        )


H5payResponse = MinaResponse
"""``openapi.payment.order.h5pay`` answers as ``mina`` does; hand ``sign_params.as_dict()`` to
``WeixinJSBridge.invoke('getBrandWCPayRequest', ...)`` (or send the browser to the gateway's
``/paypage``)."""


@dataclass(frozen=True, slots=True)
class AlipayH5Response:
    """``openapi.payment.Alipay.H5``: ``prepay_id`` is Alipay's ``trade_no``; hand it to
    ``my.tradePay`` / ``AlipayJSBridge.call('tradePay', {tradeNO})`` in the buyer's Alipay."""

    order_sn: str
    merchant_order_sn: str
    prepay_id: str
    store_id: int = 0
    cashier_id: int = 0
    user_id: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> AlipayH5Response:
        return cls(
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
            prepay_id=read.text(data, "prepay_id"),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
            user_id=read.text(data, "user_id", ""),
        )


@dataclass(frozen=True, slots=True)
class ScanResponse:
    """``openapi.payment.order.scan``: show ``qr_code`` as a QR code for the customer to scan."""

    order_sn: str
    merchant_order_sn: str
    qr_code: str
    trade_no: str = ""
    store_id: int = 0
    cashier_id: int = 0

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ScanResponse:
        return cls(
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            qr_code=read.text(data, "qr_code"),
            trade_no=read.text(data, "trade_no", ""),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
        )


@dataclass(frozen=True, slots=True)
class ReverseResponse:
    """``openapi.payment.order.reverse``: ``trade_state`` ``REVOKING`` (the channel is being
    asked; query until it changes), ``REVOKED`` or ``REVOKED_ERROR``."""

    merchant_order_sn: str
    order_sn: str
    trade_state: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ReverseResponse:
        return cls(
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            order_sn=read.text(data, "order_sn"),
            trade_state=read.text(data, "trade_state"),
        )


@dataclass(frozen=True, slots=True)
class AuthUrl:
    """``openapi.payment.auth.auth`` (wire ``{"authUrl": ...}``): send the browser there."""

    auth_url: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> AuthUrl:
        return cls(auth_url=read.text(data, "authUrl"))


@dataclass(frozen=True, slots=True)
class Order:
    """An order as query reports it (``openapi.payment.order.query``, reference 5.6); also the
    data of a payment notification.

    ``trade_state``: ``USERPAYING`` (waiting for the payer), ``SUCCESS`` (paid), ``CLOSED``
    (closed or expired unpaid, or a declined payment code), and for payment codes ``REVOKING``,
    ``REVOKED``, ``REVOKED_ERROR``; kept as text so a new state never breaks parsing.
    """

    merchant_order_sn: str
    order_sn: str
    trade_state: str
    total_fee: Decimal
    trade_no: str = ""
    platform_order_no: str = ""
    fee: Decimal = Decimal("0.00")
    net_money: Decimal = Decimal("0.00")
    buyer_pay_amount: Decimal = Decimal("0.00")
    discount_money: Decimal = Decimal("0.00")
    pay_time: int = 0
    store_id: int = 0
    cashier_id: int = 0
    device_no: str = ""
    body: str = ""
    attach: str = ""
    pay_type: int = 0
    user_id: str = ""
    user_logon_id: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        zero = Decimal("0.00")
        return cls(
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            order_sn=read.text(data, "order_sn"),
            trade_state=read.text(data, "trade_state"),
            total_fee=read.amount(data, "total_fee"),
            trade_no=read.text(data, "trade_no", ""),
            platform_order_no=read.text(data, "platform_order_no", ""),
            fee=read.optional_amount(data, "fee") or zero,
            net_money=read.optional_amount(data, "net_money") or zero,
            buyer_pay_amount=read.optional_amount(data, "buyer_pay_amount") or zero,
            discount_money=read.optional_amount(data, "discount_money") or zero,
            pay_time=read.integer(data, "pay_time", 0),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
            device_no=read.text(data, "device_no", ""),
            body=read.text(data, "body", ""),
            attach=read.text(data, "attach", ""),
            pay_type=read.integer(data, "type", 0),
            user_id=read.text(data, "user_id", ""),
            user_logon_id=read.text(data, "user_logon_id", ""),
        )

    @property
    def is_paid(self) -> bool:
        return self.trade_state == "SUCCESS"

    @property
    def paid_at(self) -> datetime | None:
        """``pay_time`` (epoch seconds, 0 while unpaid) as an aware UTC datetime."""
        return _moment(self.pay_time)

    @property
    def total_fee_fen(self) -> int:
        return _fen(self.total_fee)

    @property
    def fee_fen(self) -> int:
        return _fen(self.fee)

    @property
    def net_money_fen(self) -> int:
        return _fen(self.net_money)

    @property
    def buyer_pay_amount_fen(self) -> int:
        return _fen(self.buyer_pay_amount)

    @property
    def discount_money_fen(self) -> int:
        return _fen(self.discount_money)


@dataclass(frozen=True, slots=True)
class CloseResponse:
    """``openapi.payment.order.close``."""

    merchant_order_sn: str
    order_sn: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> CloseResponse:
        return cls(
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            order_sn=read.text(data, "order_sn"),
        )


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund (``openapi.payment.order.refund`` and ``.refund.query``, reference 5.9-5.10); also
    the data of a refund notification.

    ``refund_status``: ``REFUND_PROCESSING``, ``REFUND_SUCCESS``, ``REFUND_FAILER`` (sic, the 1.0
    spelling); ``refund_time`` is epoch seconds once settled, else 0.
    """

    order_sn: str
    refund_sn: str
    merchant_order_sn: str = ""
    trade_no: str = ""
    merchant_refund_sn: str = ""
    refund_money: Decimal | None = None
    refund_status: str = ""
    refund_time: int = 0

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            order_sn=read.text(data, "order_sn"),
            refund_sn=read.text(data, "refund_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
            trade_no=read.text(data, "trade_no", ""),
            merchant_refund_sn=read.text(data, "merchant_refund_sn", ""),
            refund_money=read.optional_amount(data, "refund_money"),
            refund_status=read.text(data, "refund_status", ""),
            refund_time=read.integer(data, "refund_time", 0),
        )

    @property
    def refund_money_fen(self) -> int | None:
        return None if self.refund_money is None else _fen(self.refund_money)

    @property
    def refunded_at(self) -> datetime | None:
        return _moment(self.refund_time)


@dataclass(frozen=True, slots=True)
class RefundStatistics:
    """``openapi.payment.refund.statistics`` (reference 5.11)."""

    order_sn: str
    total_fee: Decimal
    refund_num: int
    can_refund: Decimal
    merchant_order_sn: str = ""
    refund_money: Decimal = Decimal("0.00")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RefundStatistics:
        return cls(
            order_sn=read.text(data, "order_sn"),
            total_fee=read.amount(data, "total_fee"),
            refund_num=read.integer(data, "refund_num"),
            can_refund=read.amount(data, "can_refund"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
            refund_money=read.optional_amount(data, "refund_money") or Decimal("0.00"),
        )

    @property
    def total_fee_fen(self) -> int:
        return _fen(self.total_fee)

    @property
    def can_refund_fen(self) -> int:
        return _fen(self.can_refund)

    @property
    def refund_money_fen(self) -> int:
        return _fen(self.refund_money)


@dataclass(frozen=True, slots=True)
class ServerTime:
    """``openapi.get.time``: ``time`` as sent (jubao: epoch seconds as text)."""

    time: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ServerTime:
        return cls(time=read.text(data, "time"))

    def as_datetime(self) -> datetime | None:
        """The moment, when ``time`` is epoch seconds (as jubao sends it); else ``None``."""
        return _moment(int(self.time)) if self.time.isdigit() else None
