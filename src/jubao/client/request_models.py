"""What a merchant sends: one frozen dataclass per Open API method (reference section 5).

Each model checks itself when built (so a float amount fails at the line that wrote it) and knows
its ``biz_content`` object (``biz()``); fields left ``None`` are not sent. Amounts: a yuan field
(``Decimal`` or text) or its integer-fen twin, see ``jubao.client.amounts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jubao.client.amounts import YuanInput, fen_from_input, yuan_for_wire
from jubao.money import Fen

__all__ = [
    "AlipayH5Request",
    "AuthRequest",
    "CloseRequest",
    "H5payRequest",
    "MinaRequest",
    "OrderQueryRequest",
    "RefundQueryRequest",
    "RefundRequest",
    "RefundStatisticsRequest",
    "ReverseRequest",
    "ScanRequest",
    "SwipeRequest",
]


def _required_text(value: str, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is required (a non-empty string)")


def _order_ref(merchant_order_sn: str | None, order_sn: str | None, trade_no: str | None) -> None:
    if not (merchant_order_sn or order_sn or trade_no):
        raise ValueError("give one of merchant_order_sn, order_sn, trade_no")


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class MinaRequest:
    """``openapi.payment.order.mina``: create a WeChat mini-program order.

    Retried safely: an identical request with the same ``merchant_order_sn`` replays the order.
    """

    merchant_order_sn: str
    sub_openid: str
    store_id: int
    total_fee: YuanInput | None = None
    total_fen: int | None = None
    cashier_id: int | None = None
    call_back_url: str | None = None
    body: str | None = None
    attach: str | None = None

    def __post_init__(self) -> None:
        _required_text(self.merchant_order_sn, "merchant_order_sn")
        if self.merchant_order_sn != self.merchant_order_sn.strip():
            raise ValueError("merchant_order_sn must not start or end with spaces")
        _required_text(self.sub_openid, "sub_openid")
        if self.amount_fen is None:
            raise ValueError("give total_fee (yuan) or total_fen (fen)")

    @property
    def amount_fen(self) -> Fen | None:
        return fen_from_input(
            self.total_fee, self.total_fen, yuan_field="total_fee", fen_field="total_fen"
        )

    def biz(self) -> dict[str, Any]:
        fen = self.amount_fen
        assert fen is not None  # checked in __post_init__
        return _present(
            merchant_order_sn=self.merchant_order_sn,
            sub_openid=self.sub_openid,
            total_fee=yuan_for_wire(fen),
            store_id=self.store_id,
            cashier_id=self.cashier_id,
            call_back_url=self.call_back_url,
            body=self.body,
            attach=self.attach,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _SceneOrder:
    """The fields every order-creating method shares (``mina`` without ``sub_openid``)."""

    merchant_order_sn: str
    store_id: int
    total_fee: YuanInput | None = None
    total_fen: int | None = None
    cashier_id: int | None = None
    call_back_url: str | None = None
    body: str | None = None
    attach: str | None = None

    def __post_init__(self) -> None:
        _required_text(self.merchant_order_sn, "merchant_order_sn")
        if self.merchant_order_sn != self.merchant_order_sn.strip():
            raise ValueError("merchant_order_sn must not start or end with spaces")
        if self.amount_fen is None:
            raise ValueError("give total_fee (yuan) or total_fen (fen)")

    @property
    def amount_fen(self) -> Fen | None:
        return fen_from_input(
            self.total_fee, self.total_fen, yuan_field="total_fee", fen_field="total_fen"
        )

    def biz(self) -> dict[str, Any]:
        fen = self.amount_fen
        assert fen is not None  # checked in __post_init__
        return _present(
            merchant_order_sn=self.merchant_order_sn,
            total_fee=yuan_for_wire(fen),
            store_id=self.store_id,
            cashier_id=self.cashier_id,
            call_back_url=self.call_back_url,
            body=self.body,
            attach=self.attach,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SwipeRequest(_SceneOrder):
    """``openapi.payment.order.swipe``: the till scanned the customer's payment code.

    ``pay_type`` (wire ``type``: 1 WeChat, 2 Alipay, 5 UnionPay) may be left out: the gateway
    recognises the channel from the code. Retried safely: an identical request with the same
    ``merchant_order_sn`` replays the first answer and never submits the code twice.
    """

    auth_code: str
    pay_type: int | None = None

    def __post_init__(self) -> None:
        _SceneOrder.__post_init__(self)
        _required_text(self.auth_code, "auth_code")
        if not (self.auth_code.isascii() and self.auth_code.isdigit()):
            raise ValueError("auth_code is the payment code's digits")

    def biz(self) -> dict[str, Any]:
        return {
            **_SceneOrder.biz(self),
            **_present(auth_code=self.auth_code, type=self.pay_type),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRequest(_SceneOrder):
    """``openapi.payment.order.scan``: a QR code the customer scans (``pay_type`` 1: WeChat).
    Retried safely (``merchant_order_sn``)."""

    pay_type: int = 1

    def biz(self) -> dict[str, Any]:
        return {**_SceneOrder.biz(self), "type": self.pay_type}


@dataclass(frozen=True, slots=True, kw_only=True)
class H5payRequest(_SceneOrder):
    """``openapi.payment.order.h5pay``: pay inside the merchant's official account as
    ``sub_open_id`` (the second value ``auth.auth`` hands back). Retried safely."""

    sub_open_id: str

    def __post_init__(self) -> None:
        _SceneOrder.__post_init__(self)
        _required_text(self.sub_open_id, "sub_open_id")

    def biz(self) -> dict[str, Any]:
        return {**_SceneOrder.biz(self), "sub_open_id": self.sub_open_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class AlipayH5Request(_SceneOrder):
    """``openapi.payment.Alipay.H5``: an Alipay JSAPI trade (life account or Alipay mini-program)
    for the buyer ``buyer_id`` (``2088...``). Retried safely."""

    buyer_id: str

    def __post_init__(self) -> None:
        _SceneOrder.__post_init__(self)
        _required_text(self.buyer_id, "buyer_id")

    def biz(self) -> dict[str, Any]:
        return {**_SceneOrder.biz(self), "buyer_id": self.buyer_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRequest:
    """``openapi.payment.auth.auth``: the URL that sends a browser inside WeChat through the
    store's official-account authorisation and back to ``url`` with ``open_id`` and
    ``sub_open_id``."""

    url: str
    store_id: int

    def __post_init__(self) -> None:
        _required_text(self.url, "url")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must be an http(s) address")

    def biz(self) -> dict[str, Any]:
        return {"url": self.url, "store_id": self.store_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class _OrderRefRequest:
    """One of ``merchant_order_sn`` / ``order_sn`` / ``trade_no`` ("三选一")."""

    merchant_order_sn: str | None = None
    order_sn: str | None = None
    trade_no: str | None = None

    def __post_init__(self) -> None:
        _order_ref(self.merchant_order_sn, self.order_sn, self.trade_no)

    def biz(self) -> dict[str, Any]:
        return _present(
            merchant_order_sn=self.merchant_order_sn,
            order_sn=self.order_sn,
            trade_no=self.trade_no,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderQueryRequest(_OrderRefRequest):
    """``openapi.payment.order.query``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReverseRequest(_OrderRefRequest):
    """``openapi.payment.order.reverse``: end a payment-code order (unpaid: cancelled; paid:
    refunded in full). Idempotent, so retried safely."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseRequest(_OrderRefRequest):
    """``openapi.payment.order.close``: closing a closed order again succeeds (idempotent)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundStatisticsRequest(_OrderRefRequest):
    """``openapi.payment.refund.statistics``: refunds so far and what can still be refunded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRequest(_OrderRefRequest):
    """``openapi.payment.order.refund``. Leave both amounts out to refund the whole remainder.

    Give ``merchant_refund_sn``: it makes the refund idempotent, so the SDK may retry it after a
    timeout. Without one, a refund is never retried (a retry could refund twice).
    """

    merchant_refund_sn: str | None = None
    refund_money: YuanInput | None = None
    refund_fen: int | None = None

    def __post_init__(self) -> None:
        _OrderRefRequest.__post_init__(self)
        if self.merchant_refund_sn is not None:
            _required_text(self.merchant_refund_sn, "merchant_refund_sn")
        _ = self.amount_fen  # validates the amount now

    @property
    def amount_fen(self) -> Fen | None:
        """``None``: the whole remainder."""
        return fen_from_input(
            self.refund_money, self.refund_fen, yuan_field="refund_money", fen_field="refund_fen"
        )

    def biz(self) -> dict[str, Any]:
        fen = self.amount_fen
        refund_money: Decimal | None = None if fen is None else yuan_for_wire(fen)
        return {
            **_OrderRefRequest.biz(self),
            **_present(merchant_refund_sn=self.merchant_refund_sn, refund_money=refund_money),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundQueryRequest(_OrderRefRequest):
    """``openapi.payment.order.refund.query``: the order, and one of ``refund_sn`` /
    ``merchant_refund_sn``."""

    refund_sn: str | None = None
    merchant_refund_sn: str | None = None

    def __post_init__(self) -> None:
        _OrderRefRequest.__post_init__(self)
        if not (self.refund_sn or self.merchant_refund_sn):
            raise ValueError("give one of refund_sn, merchant_refund_sn")

    def biz(self) -> dict[str, Any]:
        return {
            **_OrderRefRequest.biz(self),
            **_present(refund_sn=self.refund_sn, merchant_refund_sn=self.merchant_refund_sn),
        }
