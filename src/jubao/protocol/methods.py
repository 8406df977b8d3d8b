"""Business request schemas of the 1.0 methods jubao implements (reference section 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jubao.errors import InvalidParameter
from jubao.kinds import ChannelName
from jubao.money import Fen
from jubao.protocol import fields, jsonwire
from jubao.protocol.payment_codes import channel_of_code, channel_of_type

__all__ = [
    "METHODS",
    "MINA",
    "MinaRequest",
    "OrderRef",
    "RefundQueryRequest",
    "RefundRequest",
    "parse_mina",
    "parse_order_ref",
    "parse_refund",
    "parse_refund_query",
]

MINA = "openapi.payment.order.mina"
QUERY = "openapi.payment.order.query"
CLOSE = "openapi.payment.order.close"
REFUND = "openapi.payment.order.refund"
REFUND_QUERY = "openapi.payment.order.refund.query"
REFUND_STATISTICS = "openapi.payment.refund.statistics"
GET_TIME = "openapi.get.time"
METHODS = (MINA, QUERY, CLOSE, REFUND, REFUND_QUERY, REFUND_STATISTICS, GET_TIME)


@dataclass(frozen=True, slots=True)
class MinaRequest:
    merchant_order_sn: str
    sub_openid: str
    total_fen: Fen
    store_id: int
    cashier_id: int | None
    call_back_url: str | None
    body: str | None
    attach: str | None

    def fingerprint(self) -> str:
        """What must match for a retry with the same merchant_order_sn to count as identical."""
        return "\x1f".join(
            str(part)
            for part in (
                self.sub_openid,
                self.total_fen,
                self.store_id,
                self.cashier_id or 0,
                self.call_back_url or "",
                self.body or "",
                self.attach or "",
            )
        )


def parse_mina(biz: dict[str, Any]) -> MinaRequest:
    merchant_order_sn = fields.text(
        biz, "merchant_order_sn", max_len=32, required=True, strip_check=True
    )
    sub_openid = fields.text(biz, "sub_openid", max_len=32, required=True, strip_check=True)
    total_fen = fields.money(biz, "total_fee", required=True)
    store_id = fields.integer(biz, "store_id", required=True, minimum=1, maximum=fields.INT10_MAX)
    cashier_id = fields.integer(biz, "cashier_id", minimum=0, maximum=fields.INT10_MAX)
    # The seed names it call_back_url; the Java SDK sends call_back.
    url_key = "call_back_url" if biz.get("call_back_url") not in (None, "") else "call_back"
    call_back_url = fields.url(biz, url_key)
    # Free text: CR/LF allowed (notifications carry it form-encoded, JSON escapes it)
    body = fields.text(biz, "body", max_len=128, multiline=True)
    attach = fields.text(biz, "attach", max_len=127, multiline=True)
    assert merchant_order_sn and sub_openid and total_fen and store_id  # required above
    return MinaRequest(
        merchant_order_sn=merchant_order_sn,
        sub_openid=sub_openid,
        total_fen=total_fen,
        store_id=store_id,
        cashier_id=cashier_id or None,
        call_back_url=call_back_url,
        body=body,
        attach=attach,
    )


@dataclass(frozen=True, slots=True)
class OrderRef:
    """One of merchant_order_sn / order_sn / trade_no ("三选一")."""

    merchant_order_sn: str | None = None
    order_sn: str | None = None
    trade_no: str | None = None


def parse_order_ref(biz: dict[str, Any]) -> OrderRef:
    ref = OrderRef(
        merchant_order_sn=fields.text(biz, "merchant_order_sn", max_len=32),
        order_sn=fields.text(biz, "order_sn", max_len=32),
        trade_no=fields.text(biz, "trade_no", max_len=32),
    )
    if not (ref.merchant_order_sn or ref.order_sn or ref.trade_no):
        raise InvalidParameter(
            "merchant_order_sn、order_sn、trade_no 必须传其中一个", sub_code="MISSING_PARAMETER"
        )
    return ref


@dataclass(frozen=True, slots=True)
class RefundRequest:
    order: OrderRef
    merchant_refund_sn: str | None
    refund_fen: Fen | None  # None: the whole remainder


def parse_refund(biz: dict[str, Any]) -> RefundRequest:
    return RefundRequest(
        order=parse_order_ref(biz),
        merchant_refund_sn=fields.text(biz, "merchant_refund_sn", max_len=32, strip_check=True),
        refund_fen=_refund_fen(biz),
    )


_AMOUNT_WORDS = ("money", "amount", "fee", "price", "total", "sum")


def _misnamed_amount(key: str) -> bool:
    """An amount under a name other than ``refund_money`` (2.0's ``refund_amount``,
    ``refund_fee``, ``refundMoney``, ``Refund_money``, ``amount``...): never read as "absent"."""
    folded = "".join(ch for ch in key.lower() if ch.isalpha())
    if folded in ("amount", "money", "fee"):
        return True
    return folded.startswith("refund") and any(word in folded for word in _AMOUNT_WORDS)


def _refund_fen(biz: dict[str, Any]) -> Fen | None:
    """Only an absent (or JSON null) ``refund_money`` means the whole remainder: a blank value or
    an amount sent under another name refunds nothing and says why."""
    for key in biz:
        if key != "refund_money" and _misnamed_amount(key):
            raise InvalidParameter(
                f"不支持参数 {jsonwire.preview(key)}：退款金额请用 refund_money（单位元）；"
                "不传 refund_money 表示全额退款"
            )
    value = biz.get("refund_money")
    if isinstance(value, str) and not value.strip():
        raise InvalidParameter("参数 refund_money 不能为空：全额退款请不传该参数")
    return fields.money(biz, "refund_money")


@dataclass(frozen=True, slots=True)
class RefundQueryRequest:
    order: OrderRef | None  # None (2.0 only): the order is the refund's
    refund_sn: str | None
    merchant_refund_sn: str | None


def parse_refund_query(biz: dict[str, Any]) -> RefundQueryRequest:
    request = RefundQueryRequest(
        order=parse_order_ref(biz),
        refund_sn=fields.text(biz, "refund_sn", max_len=32),
        merchant_refund_sn=fields.text(biz, "merchant_refund_sn", max_len=32),
    )
    if not (request.refund_sn or request.merchant_refund_sn):
        raise InvalidParameter(
            "refund_sn、merchant_refund_sn 必须传其中一个", sub_code="MISSING_PARAMETER"
        )
    return request


# ---- the in-store and web scenes (reference 5.1-5.3, 5.8) -----------------------------------

SWIPE = "openapi.payment.order.swipe"
SCAN = "openapi.payment.order.scan"
H5PAY = "openapi.payment.order.h5pay"
ALIPAY_H5 = "openapi.payment.Alipay.H5"  # the capitals are Fubei's (reference 5.5)
REVERSE = "openapi.payment.order.reverse"
AUTH = "openapi.payment.auth.auth"  # official-account web OAuth (reference 5.15)

# ---- statements and the store catalogue (reference 5.12, 5.13, 5.17; parsed in
# protocol/statement_methods.py) -----------------------------------------------------------------

BILL = "openapi.payment.order.bill"
RECONCILIATION = "openapi.payment.order.reconciliation"
STORE_QUERY = "openapi.payment.store.query"
CASHIER_QUERY = "openapi.payment.cashier.query"
STORE_CATEGORY = "openapi.store.category"


@dataclass(frozen=True, slots=True)
class SceneOrder:
    """The common part of every order-creating method."""

    merchant_order_sn: str
    total_fen: Fen
    store_id: int
    cashier_id: int | None
    call_back_url: str | None
    body: str | None
    attach: str | None

    def fingerprint(self, *extra: object) -> str:
        parts = (self.total_fen, self.store_id, self.cashier_id or 0, self.call_back_url or "",
                 self.body or "", self.attach or "", *extra)  # fmt: skip
        return "\x1f".join(str(part) for part in parts)


def _scene_order(biz: dict[str, Any]) -> SceneOrder:
    merchant_order_sn = fields.text(
        biz, "merchant_order_sn", max_len=32, required=True, strip_check=True
    )
    total_fen = fields.money(biz, "total_fee", required=True)
    store_id = fields.integer(biz, "store_id", required=True, minimum=1, maximum=fields.INT10_MAX)
    cashier_id = fields.integer(biz, "cashier_id", minimum=0, maximum=fields.INT10_MAX)
    call_back_url = fields.url(biz, "call_back_url")
    assert merchant_order_sn and total_fen and store_id  # required above
    return SceneOrder(
        merchant_order_sn=merchant_order_sn,
        total_fen=total_fen,
        store_id=store_id,
        cashier_id=cashier_id or None,
        call_back_url=call_back_url,
        body=fields.text(biz, "body", max_len=128, multiline=True),
        attach=fields.text(biz, "attach", max_len=127, multiline=True),
    )


def _channel_type(biz: dict[str, Any], *, required: bool) -> ChannelName | None:
    fubei_type = fields.integer(biz, "type", required=required, minimum=1)
    if fubei_type is None:
        return None
    channel = channel_of_type(fubei_type)
    if channel is None:
        raise InvalidParameter(f"参数 type={fubei_type} 无效：1 微信、2 支付宝、5 银联")
    return channel


@dataclass(frozen=True, slots=True)
class SwipeRequest:
    order: SceneOrder
    channel: ChannelName
    auth_code: str = field(repr=False)


def parse_swipe(biz: dict[str, Any]) -> SwipeRequest:
    """The cashier scanned the customer's payment code. Without ``type`` the channel is
    recognised from the code; a ``type`` that contradicts the code is refused."""
    order = _scene_order(biz)
    auth_code = fields.text(biz, "auth_code", max_len=32, required=True, strip_check=True)
    assert auth_code
    if not auth_code.isdigit() or not auth_code.isascii():
        raise InvalidParameter("参数 auth_code 必须是付款码数字", sub_code="AUTH_CODE_INVALID")
    recognised = channel_of_code(auth_code)
    declared = _channel_type(biz, required=False)
    if recognised is None:
        raise InvalidParameter(
            "付款码 auth_code 无法识别：微信为 10-15 开头的 18 位数字，"
            "支付宝为 25-30 开头的 16-24 位数字",
            sub_code="AUTH_CODE_INVALID",
        )
    if declared is not None and declared != recognised:
        raise InvalidParameter(
            f"参数 type={declared.fubei_type} 与付款码不符"
            f"（付款码属于 type={recognised.fubei_type}）",
            sub_code="AUTH_CODE_TYPE_MISMATCH",
        )
    return SwipeRequest(order=order, channel=recognised, auth_code=auth_code)


@dataclass(frozen=True, slots=True)
class ScanRequest:
    order: SceneOrder
    channel: ChannelName


def parse_scan(biz: dict[str, Any]) -> ScanRequest:
    channel = _channel_type(biz, required=True)
    assert channel is not None
    return ScanRequest(order=_scene_order(biz), channel=channel)


@dataclass(frozen=True, slots=True)
class H5PayRequest:
    order: SceneOrder
    sub_open_id: str


def parse_h5pay(biz: dict[str, Any]) -> H5PayRequest:
    """JSAPI inside the merchant's official account. ``auth.auth`` hands the page ``open_id``
    (under the service provider's account) and ``sub_open_id`` (under the merchant's); the
    merchant's own account pays, so ``sub_open_id`` is the payer."""
    order = _scene_order(biz)
    sub_open_id = fields.text(biz, "sub_open_id", max_len=128, strip_check=True)
    if not sub_open_id:
        raise InvalidParameter("缺少参数 sub_open_id（网页授权返回的第二个参数）",
                               sub_code="MISSING_PARAMETER")  # fmt: skip
    return H5PayRequest(order=order, sub_open_id=sub_open_id)


@dataclass(frozen=True, slots=True)
class AlipayH5Request:
    order: SceneOrder
    buyer_id: str


_BUYER_ID = re.compile(r"[0-9A-Za-z_\-]{1,128}")


def parse_alipay_h5(biz: dict[str, Any]) -> AlipayH5Request:
    """Alipay JSAPI (life account, mini-program): the page pays the trade with
    ``my.tradePay``; ``buyer_id`` is the payer's Alipay user id (2088…) or its OpenID."""
    order = _scene_order(biz)
    buyer_id = fields.text(biz, "buyer_id", max_len=128, strip_check=True)
    if not buyer_id:
        raise InvalidParameter("缺少参数 buyer_id（支付宝用户号，2088 开头）",
                               sub_code="MISSING_PARAMETER")  # fmt: skip
    if not _BUYER_ID.fullmatch(buyer_id):
        raise InvalidParameter("参数 buyer_id 无效：应为 2088 开头的支付宝用户号")
    return AlipayH5Request(order=order, buyer_id=buyer_id)
