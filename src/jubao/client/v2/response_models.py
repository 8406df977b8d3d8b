"""What the gateway answers on Open API 2.0 (reference section 6): one frozen dataclass per shape.

Field names are the 2.0 wire names. Amounts are exact ``Decimal`` yuan with two places, each with
an ``<name>_fen`` integer property; ``pay_type``, ``order_status`` and ``refund_status`` are enums;
``finish_time`` (wire ``yyyyMMddHHmmss``, China time) is an aware ``datetime`` or ``None`` while
unfinished. Numbers may arrive as text and text as numbers; unknown fields are ignored; fields the
reference does not promise get a neutral default (``""``, ``0``, ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from jubao.client import reading as read
from jubao.client.response_models import SignParams
from jubao.client.v2.enums import OrderStatus, PayType, RefundStatus
from jubao.protocol import jsonwire

__all__ = [
    "CallbackConfig",
    "ClosedOrder",
    "CreatedOrder",
    "FixedQrcode",
    "Order",
    "PaymentItem",
    "QrcodeOrder",
    "Refund",
    "SignPackage",
    "WapOrder",
]

ZERO = Decimal("0.00")

SignPackage = SignParams
"""``sign_package`` of a WeChat ``fbpay.order.create``: hand ``as_dict()`` to
``WeixinJSBridge.invoke('getBrandWCPayRequest', ...)`` or ``wx.requestPayment``."""


def _fen(yuan: Decimal) -> int:
    return int(yuan.scaleb(2))


def _merchant_id(data: Mapping[str, Any]) -> int:
    """``merchant_id``; notifications call it ``uid``."""
    if data.get("merchant_id") not in (None, ""):
        return read.integer(data, "merchant_id")
    return read.integer(data, "uid", 0)


@dataclass(frozen=True, slots=True)
class PaymentItem:
    """One entry of ``payment_list``: ``type`` is ``FUBEI_DISCOUNT``, ``CHANNEL_DISCOUNT`` or
    ``CHANNEL_PRE``."""

    type: str
    amount: Decimal

    @property
    def amount_fen(self) -> int:
        return _fen(self.amount)


def _payment_list(data: Mapping[str, Any]) -> tuple[PaymentItem, ...]:
    value = data.get("payment_list")
    if value in (None, ""):
        return ()
    if isinstance(value, str):  # some senders put JSON text here
        try:
            value = jsonwire.loads(value)
        except jsonwire.JsonError as exc:
            raise read.ShapeError(f"field 'payment_list' is not JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise read.ShapeError("field 'payment_list' should be a list of objects")
    return tuple(
        PaymentItem(type=read.text(item, "type"), amount=read.amount(item, "amount"))
        for item in value
    )


@dataclass(frozen=True, slots=True)
class Order:
    """An order as ``fbpay.order.pay`` and ``fbpay.order.query`` report it; also the data of a
    2.0 payment notification.

    ``pay_type`` is ``None`` while an aggregated QR code has not been scanned. ``ins_order_sn`` is
    the number printed on receipts; ``channel_order_sn`` the wallet's own (once paid).
    """

    order_sn: str
    merchant_order_sn: str
    order_status: OrderStatus
    total_amount: Decimal
    pay_type: PayType | None = None
    ins_order_sn: str = ""
    channel_order_sn: str = ""
    merchant_id: int = 0
    store_id: int = 0
    cashier_id: int = 0
    net_amount: Decimal = ZERO
    buyer_pay_amount: Decimal = ZERO
    fee: Decimal = ZERO
    user_id: str = ""
    finish_time: datetime | None = None
    device_no: str = ""
    body: str = ""
    attach: str = ""
    is_can_part_refund: bool = False
    payment_list: tuple[PaymentItem, ...] = ()

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            order_status=read.choice(data, "order_status", OrderStatus),
            total_amount=read.amount(data, "total_amount"),
            pay_type=read.optional_choice(data, "pay_type", PayType),
            ins_order_sn=read.text(data, "ins_order_sn", ""),
            channel_order_sn=read.text(data, "channel_order_sn", ""),
            merchant_id=_merchant_id(data),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
            net_amount=read.optional_amount(data, "net_amount") or ZERO,
            buyer_pay_amount=read.optional_amount(data, "buyer_pay_amount") or ZERO,
            fee=read.optional_amount(data, "fee") or ZERO,
            user_id=read.text(data, "user_id", ""),
            finish_time=read.compact_time(data, "finish_time"),
            device_no=read.text(data, "device_no", ""),
            body=read.text(data, "body", ""),
            attach=read.text(data, "attach", ""),
            is_can_part_refund=read.flag(data, "is_can_part_refund"),
            payment_list=_payment_list(data),
        )

    @property
    def is_paid(self) -> bool:
        return self.order_status is OrderStatus.SUCCESS

    @property
    def total_amount_fen(self) -> int:
        return _fen(self.total_amount)

    @property
    def net_amount_fen(self) -> int:
        return _fen(self.net_amount)

    @property
    def buyer_pay_amount_fen(self) -> int:
        return _fen(self.buyer_pay_amount)

    @property
    def fee_fen(self) -> int:
        return _fen(self.fee)


def _sign_package(data: Mapping[str, Any]) -> SignPackage | None:
    value = data.get("sign_package")
    if value in (None, ""):
        return None
    if isinstance(value, str):  # Fubei's Java SDK models it as JSON text
        try:
            value = jsonwire.loads(value)
        except jsonwire.JsonError as exc:
            raise read.ShapeError(f"field 'sign_package' is not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise read.ShapeError("field 'sign_package' should be an object")
    return SignPackage.from_wire(value)


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """``fbpay.order.create``: WeChat answers ``sign_package`` (for the wallet's JSAPI) with
    ``prepay_id``; Alipay answers its trade number as ``prepay_id`` (for ``tradePay``) and no
    ``sign_package``."""

    order_sn: str
    merchant_order_sn: str
    prepay_id: str
    pay_type: PayType
    total_amount: Decimal
    sign_package: SignPackage | None = None
    merchant_id: int = 0
    store_id: int = 0
    cashier_id: int = 0
    user_id: str = ""
    device_no: str = ""
    attach: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> CreatedOrder:
        return cls(
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn"),
            prepay_id=read.text(data, "prepay_id"),
            pay_type=read.choice(data, "pay_type", PayType),
            total_amount=read.amount(data, "total_amount"),
            sign_package=_sign_package(data),
            merchant_id=_merchant_id(data),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
            user_id=read.text(data, "user_id", ""),
            device_no=read.text(data, "device_no", ""),
            attach=read.text(data, "attach", ""),
        )

    @property
    def total_amount_fen(self) -> int:
        return _fen(self.total_amount)


@dataclass(frozen=True, slots=True)
class ClosedOrder:
    """``fbpay.order.close``: ``order_status`` is ``CLOSED``."""

    order_sn: str
    merchant_order_sn: str
    order_status: OrderStatus
    device_no: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ClosedOrder:
        return cls(
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
            order_status=read.choice(data, "order_status", OrderStatus),
            device_no=read.text(data, "device_no", ""),
        )


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund (``fbpay.order.refund`` and ``fbpay.order.refund.query``); also the data of a
    2.0 refund notification. ``finish_time`` is set once the refund settled."""

    order_sn: str
    refund_sn: str
    refund_status: RefundStatus
    refund_amount: Decimal
    merchant_order_sn: str = ""
    merchant_refund_sn: str = ""
    buyer_refund_amount: Decimal | None = None
    refund_fee: Decimal | None = None
    finish_time: datetime | None = None
    handler: str = ""
    device_no: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            order_sn=read.text(data, "order_sn"),
            refund_sn=read.text(data, "refund_sn"),
            refund_status=read.choice(data, "refund_status", RefundStatus),
            refund_amount=read.amount(data, "refund_amount"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
            merchant_refund_sn=read.text(data, "merchant_refund_sn", ""),
            buyer_refund_amount=read.optional_amount(data, "buyer_refund_amount"),
            refund_fee=read.optional_amount(data, "refund_fee"),
            finish_time=read.compact_time(data, "finish_time"),
            handler=read.text(data, "handler", ""),
            device_no=read.text(data, "device_no", ""),
        )

    @property
    def refund_amount_fen(self) -> int:
        return _fen(self.refund_amount)

    @property
    def is_settled(self) -> bool:
        return self.refund_status is not RefundStatus.REFUND_PROCESSING


@dataclass(frozen=True, slots=True)
class QrcodeOrder:
    """``fbpay.order.qrcode`` (定额码): show ``content`` as a QR code. jubao answers its cashier
    page (``PUBLIC_URL/qr/<token>``) as both ``qrcode_url`` and ``qr_code`` (Fubei's JAVA
    model has ``qr_code`` only); ``order_sn`` is reserved for the order the first wallet to open
    the page creates, and ``trade_no`` is jubao's number for it (the same ``order_sn``)."""

    order_sn: str
    merchant_order_sn: str = ""
    trade_no: str = ""
    qrcode_url: str = ""
    qr_code: str = ""
    store_id: int = 0
    cashier_id: int = 0

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> QrcodeOrder:
        answer = cls(
            order_sn=read.text(data, "order_sn"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
            trade_no=read.text(data, "trade_no", ""),
            qrcode_url=read.text(data, "qrcode_url", ""),
            qr_code=read.text(data, "qr_code", ""),
            store_id=read.integer(data, "store_id", 0),
            cashier_id=read.integer(data, "cashier_id", 0),
        )
        if not (answer.qrcode_url or answer.qr_code):
            raise read.ShapeError("missing field 'qrcode_url' (and no 'qr_code')")
        return answer

    @property
    def content(self) -> str:
        """What to render as the QR code."""
        return self.qrcode_url or self.qr_code


@dataclass(frozen=True, slots=True)
class FixedQrcode:
    """``fbpay.fixed.qrcode.create`` (聚合码): render ``qrcode_url`` (jubao's cashier page,
    ``PUBLIC_URL/qr/<token>``) as a QR code; any wallet can pay it until it expires. The order
    is made when the first wallet opens the page: query it by ``merchant_order_sn`` then."""

    qrcode_url: str
    merchant_order_sn: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FixedQrcode:
        return cls(
            qrcode_url=read.text(data, "qrcode_url"),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
        )


@dataclass(frozen=True, slots=True)
class WapOrder:
    """``fbpay.order.wap.create``: ``html`` is a self-submitting form or a URL; send the mobile
    browser there."""

    html: str
    order_sn: str = ""
    merchant_order_sn: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> WapOrder:
        return cls(
            html=read.text(data, "html"),
            order_sn=read.text(data, "order_sn", ""),
            merchant_order_sn=read.text(data, "merchant_order_sn", ""),
        )


@dataclass(frozen=True, slots=True)
class CallbackConfig:
    """``fbpay.pay.callback.config``: ``bind_status`` 1 bound, 2 failed (``resp_message``
    says why). ``agent_id`` names the merchant's service provider (jubao: its ``vendor_sn``;
    empty for a merchant without one)."""

    bind_status: int
    merchant_id: int = 0
    agent_id: str = ""
    resp_message: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> CallbackConfig:
        return cls(
            bind_status=read.integer(data, "bind_status"),
            merchant_id=_merchant_id(data),
            agent_id=read.text(data, "agent_id", ""),
            resp_message=read.text(data, "resp_message", ""),
        )

    @property
    def is_bound(self) -> bool:
        return self.bind_status == 1
