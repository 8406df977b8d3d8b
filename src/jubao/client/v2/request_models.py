"""What a caller sends on Open API 2.0 (reference section 6): one frozen dataclass per method.

Each model checks itself when built and knows its ``biz_content`` object (``biz()``); fields left
``None`` are not sent. ``merchant_id`` names the merchant a service provider acts for: required at
agent level (on the request, or once on ``VendorCredentials``), left out at merchant level. It is
always the first key of ``biz_content``. Amounts: the yuan field (``total_amount`` /
``refund_amount``: ``Decimal`` or text) or its integer-fen twin (``total_fen`` / ``refund_fen``),
never ``float``; see ``jubao.client.amounts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jubao.client.amounts import YuanInput, fen_from_input, yuan_for_wire
from jubao.client.v2.enums import PayType
from jubao.money import Fen

__all__ = [
    "CallbackConfigRequest",
    "CloseRequest",
    "CreateOrderRequest",
    "FixedQrcodeRequest",
    "OrderQueryRequest",
    "PayRequest",
    "QrcodeOrderRequest",
    "RefundQueryRequest",
    "RefundRequest",
    "WapOrderRequest",
]


def _required_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is required (a non-empty string)")


def _order_sn_text(value: str) -> None:
    _required_text(value, "merchant_order_sn")
    if value != value.strip():
        raise ValueError("merchant_order_sn must not start or end with spaces")


def check_merchant_id(value: int | None) -> None:
    """``None`` or a positive int (requests and ``VendorCredentials``)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError("merchant_id must be a positive int")


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _pay_type(value: PayType | str | None) -> PayType | None:
    if value is None:
        return None
    try:
        return PayType(value)
    except ValueError:
        allowed = ", ".join(PayType)
        raise ValueError(f"pay_type must be one of {allowed}, got {value!r}") from None


def _check_expired_time(value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError("expired_time is a positive number of seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Scoped:
    merchant_id: int | None = None

    def __post_init__(self) -> None:
        check_merchant_id(self.merchant_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class _NewOrder(_Scoped):
    """The fields every order-creating method shares."""

    merchant_order_sn: str
    total_amount: YuanInput | None = None
    total_fen: int | None = None
    store_id: int | None = None
    cashier_id: int | None = None
    device_no: str | None = None
    body: str | None = None
    attach: str | None = None
    notify_url: str | None = None

    def __post_init__(self) -> None:
        _Scoped.__post_init__(self)
        _order_sn_text(self.merchant_order_sn)
        if self.amount_fen is None:
            raise ValueError("give total_amount (yuan) or total_fen (fen)")

    @property
    def amount_fen(self) -> Fen | None:
        return fen_from_input(
            self.total_amount, self.total_fen, yuan_field="total_amount", fen_field="total_fen"
        )

    def _order_biz(self, **between: Any) -> dict[str, Any]:
        """merchant_id, merchant_order_sn, ``between`` (the method's own fields), then the rest."""
        fen = self.amount_fen
        assert fen is not None  # checked in __post_init__
        return _present(
            merchant_id=self.merchant_id,
            merchant_order_sn=self.merchant_order_sn,
            **between,
            total_amount=yuan_for_wire(fen),
            store_id=self.store_id,
            cashier_id=self.cashier_id,
            device_no=self.device_no,
            body=self.body,
            attach=self.attach,
            notify_url=self.notify_url,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PayRequest(_NewOrder):
    """``fbpay.order.pay``: the till scanned the customer's payment code (付款码). The gateway
    recognises WeChat, Alipay or UnionPay from the code. Retried safely: an identical request with
    the same ``merchant_order_sn`` replays the first answer and never submits the code twice."""

    auth_code: str
    sub_appid: str | None = None
    goods_tag: str | None = None
    timeout_express: str | None = None

    def __post_init__(self) -> None:
        _NewOrder.__post_init__(self)
        _required_text(self.auth_code, "auth_code")
        if not (self.auth_code.isascii() and self.auth_code.isdigit()):
            raise ValueError("auth_code is the payment code's digits")

    def biz(self) -> dict[str, Any]:
        return {
            **self._order_biz(auth_code=self.auth_code),
            **_present(
                sub_appid=self.sub_appid,
                goods_tag=self.goods_tag,
                timeout_express=self.timeout_express,
            ),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateOrderRequest(_NewOrder):
    """``fbpay.order.create`` (统一下单, JSAPI): pay inside the payer's wallet as ``user_id``
    (WeChat: the openid under ``sub_appid``; Alipay: the buyer id ``2088...``). Retried safely
    (``merchant_order_sn``)."""

    pay_type: PayType | str
    user_id: str
    sub_appid: str | None = None
    goods_tag: str | None = None
    timeout_express: str | None = None

    def __post_init__(self) -> None:
        _NewOrder.__post_init__(self)
        if _pay_type(self.pay_type) not in (PayType.WXPAY, PayType.ALIPAY):
            raise ValueError(f"pay_type must be wxpay or alipay, got {self.pay_type!r}")
        _required_text(self.user_id, "user_id")

    def biz(self) -> dict[str, Any]:
        return {
            **self._order_biz(pay_type=str(PayType(self.pay_type)), user_id=self.user_id),
            **_present(
                sub_appid=self.sub_appid,
                goods_tag=self.goods_tag,
                timeout_express=self.timeout_express,
            ),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class QrcodeOrderRequest(_NewOrder):
    """``fbpay.order.qrcode`` (定额码): a one-order QR code for the customer to scan; left
    without ``pay_type`` any wallet can pay it, with ``wxpay`` or ``alipay`` only that wallet.
    ``expired_time``: seconds the code is valid (the gateway takes 60 to 86400; 600 when left
    out). Retried safely (``merchant_order_sn``)."""

    pay_type: PayType | str | None = None
    expired_time: int | None = None

    def __post_init__(self) -> None:
        _NewOrder.__post_init__(self)
        if _pay_type(self.pay_type) not in (None, PayType.WXPAY, PayType.ALIPAY):
            raise ValueError(f"pay_type must be wxpay or alipay, got {self.pay_type!r}")
        _check_expired_time(self.expired_time)

    def biz(self) -> dict[str, Any]:
        pay_type = _pay_type(self.pay_type)
        return {
            **self._order_biz(**_present(pay_type=None if pay_type is None else str(pay_type))),
            **_present(expired_time=self.expired_time),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedQrcodeRequest(_NewOrder):
    """``fbpay.fixed.qrcode.create`` (聚合码): one QR code that any wallet can scan, valid for
    ``expired_time`` seconds (the gateway takes 60 to 86400; 600 when left out). Retried safely
    (``merchant_order_sn``)."""

    expired_time: int | None = None
    sub_appid: str | None = None
    goods_tag: str | None = None
    timeout_express: str | None = None

    def __post_init__(self) -> None:
        _NewOrder.__post_init__(self)
        _check_expired_time(self.expired_time)

    def biz(self) -> dict[str, Any]:
        return {
            **self._order_biz(),
            **_present(
                expired_time=self.expired_time,
                sub_appid=self.sub_appid,
                goods_tag=self.goods_tag,
                timeout_express=self.timeout_express,
            ),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WapOrderRequest(_NewOrder):
    """``fbpay.order.wap.create``: an Alipay payment in a mobile browser (H5); the answer's
    ``html`` sends the browser to the wallet, which returns to ``return_url``. Retried safely."""

    user_ip: str | None = None
    return_url: str | None = None

    def biz(self) -> dict[str, Any]:
        return {**self._order_biz(), **_present(user_ip=self.user_ip, return_url=self.return_url)}


@dataclass(frozen=True, slots=True, kw_only=True)
class _OrderRef(_Scoped):
    """One of ``order_sn`` / ``ins_order_sn`` / ``merchant_order_sn`` (the gateway looks them up
    in that priority)."""

    order_sn: str | None = None
    ins_order_sn: str | None = None
    merchant_order_sn: str | None = None

    def __post_init__(self) -> None:
        _Scoped.__post_init__(self)
        if not (self.order_sn or self.ins_order_sn or self.merchant_order_sn):
            raise ValueError("give one of order_sn, ins_order_sn, merchant_order_sn")

    def biz(self) -> dict[str, Any]:
        return _present(
            merchant_id=self.merchant_id,
            order_sn=self.order_sn,
            ins_order_sn=self.ins_order_sn,
            merchant_order_sn=self.merchant_order_sn,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderQueryRequest(_OrderRef):
    """``fbpay.order.query``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseRequest(_Scoped):
    """``fbpay.order.close``: by ``order_sn`` or ``merchant_order_sn``; only an unpaid order that
    is not a payment-code order. Closing a closed order again succeeds, so it is retried safely."""

    order_sn: str | None = None
    merchant_order_sn: str | None = None

    def __post_init__(self) -> None:
        _Scoped.__post_init__(self)
        if not (self.order_sn or self.merchant_order_sn):
            raise ValueError("give one of order_sn, merchant_order_sn")

    def biz(self) -> dict[str, Any]:
        return _present(
            merchant_id=self.merchant_id,
            order_sn=self.order_sn,
            merchant_order_sn=self.merchant_order_sn,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRequest(_OrderRef):
    """``fbpay.order.refund``: ``refund_amount`` (or ``refund_fen``) is required on 2.0.

    Give ``merchant_refund_sn``: it makes the refund idempotent, so the SDK may retry it after a
    timeout. Without one, a refund is never retried (a retry could refund twice).
    """

    merchant_refund_sn: str | None = None
    refund_amount: YuanInput | None = None
    refund_fen: int | None = None
    handler: str | None = None
    device_no: str | None = None

    def __post_init__(self) -> None:
        _OrderRef.__post_init__(self)
        if self.merchant_refund_sn is not None:
            _required_text(self.merchant_refund_sn, "merchant_refund_sn")
        if self.amount_fen is None:
            raise ValueError("give refund_amount (yuan) or refund_fen (fen)")

    @property
    def amount_fen(self) -> Fen | None:
        return fen_from_input(
            self.refund_amount,
            self.refund_fen,
            yuan_field="refund_amount",
            fen_field="refund_fen",
        )

    def biz(self) -> dict[str, Any]:
        fen = self.amount_fen
        assert fen is not None  # checked in __post_init__
        return {
            **_OrderRef.biz(self),
            **_present(
                merchant_refund_sn=self.merchant_refund_sn,
                refund_amount=yuan_for_wire(fen),
                handler=self.handler,
                device_no=self.device_no,
            ),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundQueryRequest(_Scoped):
    """``fbpay.order.refund.query``: by ``refund_sn`` or ``merchant_refund_sn``; name the order
    too (``order_sn`` / ``ins_order_sn`` / ``merchant_order_sn``) when a ``merchant_refund_sn``
    is reused across orders."""

    refund_sn: str | None = None
    merchant_refund_sn: str | None = None
    order_sn: str | None = None
    ins_order_sn: str | None = None
    merchant_order_sn: str | None = None

    def __post_init__(self) -> None:
        _Scoped.__post_init__(self)
        if not (self.refund_sn or self.merchant_refund_sn):
            raise ValueError("give one of refund_sn, merchant_refund_sn")

    def biz(self) -> dict[str, Any]:
        return _present(
            merchant_id=self.merchant_id,
            refund_sn=self.refund_sn,
            merchant_refund_sn=self.merchant_refund_sn,
            order_sn=self.order_sn,
            ins_order_sn=self.ins_order_sn,
            merchant_order_sn=self.merchant_order_sn,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackConfigRequest(_Scoped):
    """``fbpay.pay.callback.config``: where the gateway sends the merchant's 2.0 payment
    notifications (``callback_url``, used when an order names no ``notify_url``) and refund
    notifications (``refund_callback_url``). Setting the same URLs again changes nothing, so it
    is retried safely."""

    callback_url: str | None = None
    refund_callback_url: str | None = None

    def __post_init__(self) -> None:
        _Scoped.__post_init__(self)
        if not (self.callback_url or self.refund_callback_url):
            raise ValueError("give callback_url, refund_callback_url or both")
        for url in (self.callback_url, self.refund_callback_url):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) address")

    def biz(self) -> dict[str, Any]:
        return _present(
            merchant_id=self.merchant_id,
            callback_url=self.callback_url,
            refund_callback_url=self.refund_callback_url,
        )
