"""Business request schemas of the Open API 2.0 methods (``fbpay.*``, reference sections 6 and 7.2)
and 2.0's numeric error codes (reference 9.2). Pure.

2.0 says the same things as 1.0 in other words: ``total_amount`` for ``total_fee``, a string
``pay_type`` (``wxpay``/``alipay``) for the numeric ``type``, ``notify_url`` for
``call_back_url``, ``refund_amount`` for ``refund_money``. The parsers here turn them into the
1.0 shapes the service already takes (``protocol.methods``), so one service path serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jubao.errors import InvalidParameter
from jubao.kinds import ChannelName
from jubao.money import Fen
from jubao.protocol import fields, jsonwire
from jubao.protocol.methods import OrderRef, RefundQueryRequest, RefundRequest, SceneOrder
from jubao.protocol.payment_codes import channel_of_code

__all__ = [
    "CALLBACK_CONFIG",
    "CLOSE",
    "CREATE",
    "PAY",
    "PAY_TYPES",
    "QUERY",
    "REFUND",
    "REFUND_QUERY",
    "RESULT_CODES",
    "WAP_CREATE",
    "CallbackConfig",
    "CreateRequest",
    "PayRequest",
    "WapRequest",
    "merchant_id",
    "parse_callback_config",
    "parse_close_ref",
    "parse_create",
    "parse_order",
    "parse_order_ref",
    "parse_pay",
    "parse_refund",
    "parse_refund_query",
    "parse_wap",
    "pay_type_of",
    "result_code_of",
]

PAY = "fbpay.order.pay"
CREATE = "fbpay.order.create"
QUERY = "fbpay.order.query"
CLOSE = "fbpay.order.close"
REFUND = "fbpay.order.refund"
REFUND_QUERY = "fbpay.order.refund.query"
WAP_CREATE = "fbpay.order.wap.create"
CALLBACK_CONFIG = "fbpay.pay.callback.config"

# 2.0's pay_type words (reference 7.2) and the channels they name.
PAY_TYPES = {
    "wxpay": ChannelName.WECHATPAY,
    "alipay": ChannelName.ALIPAY,
    "unionpay": ChannelName.UNIONPAY,
}


def pay_type_of(channel: ChannelName) -> str:
    return next(word for word, named in PAY_TYPES.items() if named == channel)


# ---- 2.0 error codes ---------------------------------------------------------------------------

INVALID_PARAMETER_CODE = 9996  # 【无效参数】
MERCHANT_NOT_FOUND_CODE = 1004  # 商户不存在
DUPLICATE_CODE = 2  # "0002": a merchant number already used for something else
CHANNEL_CODE = 60303  # the channel refused (its own code and message in sub_code/result_message)
GENERAL_CODE = 400  # every other refusal: the sub_code names it, as in 1.0

# Every sub_code jubao itself raises, and its 2.0 result_code (docs/protocol.md has the table).
# A sub_code not listed is a channel's own code (WeChat's ORDERPAID, Alipay's ACQ.*): 60303.
RESULT_CODES: dict[str, int] = {
    **dict.fromkeys(
        (
            "INVALID_PARAMETER",
            "MISSING_PARAMETER",
            "INVALID_REQUEST",
            "INVALID_JSON",
            "INVALID_FORM",
            "INVALID_AMOUNT",
            "INVALID_SIGN_METHOD",
            "BODY_TOO_LARGE",
            "AUTH_CODE_TYPE_MISMATCH",
            "METHOD_NOT_SUPPORTED",
            "INVALID_TIME",
            "INVALID_TIME_RANGE",
            "TIME_RANGE_TOO_LONG",
        ),
        INVALID_PARAMETER_CODE,
    ),
    **dict.fromkeys(
        ("MERCHANT_NOT_FOUND", "APP_NOT_FOUND", "VENDOR_NOT_FOUND"), MERCHANT_NOT_FOUND_CODE
    ),
    **dict.fromkeys(("ORDER_SN_CONFLICT", "REFUND_SN_CONFLICT"), DUPLICATE_CODE),
    **dict.fromkeys(
        (
            "CHANNEL_ERROR",
            "PAYMENT_DECLINED",
            "BALANCE_NOT_ENOUGH",
            "AUTH_CODE_INVALID",
        ),
        CHANNEL_CODE,
    ),
    **dict.fromkeys(
        (
            "SIGN_ERROR",
            "RATE_LIMITED",
            "NONCE_REUSED",
            "REQUEST_IN_PROGRESS",
            "BUSINESS_ERROR",
            "STORE_NOT_FOUND",
            "CASHIER_NOT_FOUND",
            "SCENE_NOT_SUPPORTED",
            "CHANNEL_NOT_BOUND",
            "CHANNEL_NOT_AVAILABLE",
            "ORDER_NOT_FOUND",
            "ORDER_NOT_EXIST",
            "ORDER_PAID",
            "ORDER_CLOSED",
            "ORDER_NOT_PAID",
            "CLOSE_NOT_SUPPORTED",
            "REVERSE_NOT_SUPPORTED",
            "REFUND_EXCEEDS",
            "REFUND_EXPIRED",
            "REFUND_LIMIT",
            "REFUND_NOT_FOUND",
            "UNSUPPORTED",
            "CHANNEL_UNAVAILABLE",
            "TIMEOUT",
            "SYSTEM_ERROR",
            "CONFIG_ERROR",
            "NOTIFICATION_REJECTED",
            "CATEGORY_NOT_FOUND",
            # answered before any endpoint, by web/fastpath.py, as under /gateway
            "INVALID_PATH",
            "INVALID_HTTP_METHOD",
        ),
        GENERAL_CODE,
    ),
}


def result_code_of(sub_code: str) -> int:
    """The numeric ``result_code`` a 2.0 failure carries for jubao's ``sub_code``."""
    return RESULT_CODES.get(sub_code, CHANNEL_CODE)


# ---- common fields -----------------------------------------------------------------------------


def merchant_id(biz: dict[str, Any]) -> int | None:
    """The ``merchant_id`` a request acts for (``None`` when absent). A vendor must name one."""
    return fields.integer(biz, "merchant_id", minimum=1, maximum=fields.INT10_MAX)


def parse_order(biz: dict[str, Any]) -> SceneOrder:
    """The common part of every 2.0 order: ``total_amount`` in yuan, ``notify_url``. A missing
    (or 0, as .NET sends it) ``store_id`` is the merchant's default store: ``store_id`` 0."""
    merchant_order_sn = fields.text(
        biz, "merchant_order_sn", max_len=32, required=True, strip_check=True
    )
    total_fen = fields.money(biz, "total_amount", required=True)
    store_id = fields.integer(biz, "store_id", minimum=0, maximum=fields.INT10_MAX)
    cashier_id = fields.integer(biz, "cashier_id", minimum=0, maximum=fields.INT10_MAX)
    assert merchant_order_sn and total_fen  # required above
    return SceneOrder(
        merchant_order_sn=merchant_order_sn,
        total_fen=total_fen,
        store_id=store_id or 0,
        cashier_id=cashier_id or None,
        call_back_url=fields.url(biz, "notify_url"),
        body=fields.text(biz, "body", max_len=128, multiline=True),
        attach=fields.text(biz, "attach", max_len=127, multiline=True),
    )


@dataclass(frozen=True, slots=True)
class PayRequest:
    order: SceneOrder
    channel: ChannelName
    auth_code: str = field(repr=False)


def parse_pay(biz: dict[str, Any]) -> PayRequest:
    """``fbpay.order.pay``: the channel is recognised from the payment code."""
    order = parse_order(biz)
    auth_code = fields.text(biz, "auth_code", max_len=32, required=True, strip_check=True)
    assert auth_code
    channel = channel_of_code(auth_code) if auth_code.isdigit() and auth_code.isascii() else None
    if channel is None:
        raise InvalidParameter(
            "付款码 auth_code 无法识别：微信为 10-15 开头的 18 位数字，"
            "支付宝为 25-30 开头的 16-24 位数字",
            sub_code="AUTH_CODE_INVALID",
        )
    return PayRequest(order=order, channel=channel, auth_code=auth_code)


_USER_ID = re.compile(r"[0-9A-Za-z_\-]{1,128}")


def _pay_type(biz: dict[str, Any], allowed: tuple[str, ...]) -> ChannelName:
    word = fields.text(biz, "pay_type", max_len=16, required=True)
    assert word
    if word not in allowed:
        shown = jsonwire.preview(word)
        raise InvalidParameter(f"参数 pay_type={shown} 无效：支持 {'、'.join(allowed)}")
    return PAY_TYPES[word]


@dataclass(frozen=True, slots=True)
class CreateRequest:
    order: SceneOrder
    channel: ChannelName
    user_id: str


def parse_create(biz: dict[str, Any]) -> CreateRequest:
    """``fbpay.order.create`` (JSAPI): ``user_id`` is the payer's openid under the merchant's
    official account (wxpay) or the Alipay buyer id (alipay)."""
    order = parse_order(biz)
    channel = _pay_type(biz, ("wxpay", "alipay"))
    user_id = fields.text(biz, "user_id", max_len=128, required=True, strip_check=True)
    assert user_id
    if not _USER_ID.fullmatch(user_id):
        raise InvalidParameter("参数 user_id 无效：应为微信 openid 或支付宝用户号")
    return CreateRequest(order=order, channel=channel, user_id=user_id)


@dataclass(frozen=True, slots=True)
class WapRequest:
    order: SceneOrder
    return_url: str | None


def parse_wap(biz: dict[str, Any]) -> WapRequest:
    """``fbpay.order.wap.create``: Alipay's page for a mobile browser outside the wallet."""
    return WapRequest(order=parse_order(biz), return_url=fields.url(biz, "return_url"))


def parse_order_ref(biz: dict[str, Any]) -> OrderRef:
    """One of ``order_sn`` / ``ins_order_sn`` / ``merchant_order_sn``; when several are sent,
    the first of them in this order is used (Fubei's priority). jubao's ``ins_order_sn`` (the
    number the channel and the payer's receipt show) is its ``order_sn``."""
    order_sn = fields.text(biz, "order_sn", max_len=32)
    ins_order_sn = fields.text(biz, "ins_order_sn", max_len=32)
    merchant_order_sn = fields.text(biz, "merchant_order_sn", max_len=32)
    if order_sn or ins_order_sn:
        return OrderRef(order_sn=order_sn or ins_order_sn)
    if merchant_order_sn:
        return OrderRef(merchant_order_sn=merchant_order_sn)
    raise InvalidParameter(
        "order_sn、ins_order_sn、merchant_order_sn 必须传其中一个", sub_code="MISSING_PARAMETER"
    )


def parse_close_ref(biz: dict[str, Any]) -> OrderRef:
    """``fbpay.order.close``: ``order_sn`` or ``merchant_order_sn``."""
    order_sn = fields.text(biz, "order_sn", max_len=32)
    merchant_order_sn = fields.text(biz, "merchant_order_sn", max_len=32)
    if order_sn:
        return OrderRef(order_sn=order_sn)
    if merchant_order_sn:
        return OrderRef(merchant_order_sn=merchant_order_sn)
    raise InvalidParameter(
        "order_sn、merchant_order_sn 必须传其中一个", sub_code="MISSING_PARAMETER"
    )


def parse_refund(biz: dict[str, Any]) -> RefundRequest:
    """``fbpay.order.refund``: ``refund_amount`` (yuan) is required in 2.0."""
    refund_fen: Fen | None = fields.money(biz, "refund_amount", required=True)
    return RefundRequest(
        order=parse_order_ref(biz),
        merchant_refund_sn=fields.text(biz, "merchant_refund_sn", max_len=32, strip_check=True),
        refund_fen=refund_fen,
    )


def parse_refund_query(biz: dict[str, Any]) -> RefundQueryRequest:
    """``fbpay.order.refund.query``: ``refund_sn`` or ``merchant_refund_sn``; the order is found
    from the refund (an order number, if sent as well, narrows it)."""
    has_order = any(biz.get(name) for name in ("order_sn", "ins_order_sn", "merchant_order_sn"))
    request = RefundQueryRequest(
        order=parse_order_ref(biz) if has_order else None,
        refund_sn=fields.text(biz, "refund_sn", max_len=32),
        merchant_refund_sn=fields.text(biz, "merchant_refund_sn", max_len=32),
    )
    if not (request.refund_sn or request.merchant_refund_sn):
        raise InvalidParameter(
            "refund_sn、merchant_refund_sn 必须传其中一个", sub_code="MISSING_PARAMETER"
        )
    return request


@dataclass(frozen=True, slots=True)
class CallbackConfig:
    pay_url: str | None
    refund_url: str | None


def parse_callback_config(biz: dict[str, Any]) -> CallbackConfig:
    """``fbpay.pay.callback.config``: the payment (``callback_url``) and refund
    (``refund_callback_url``) addresses; the other kinds Fubei lists are not jubao's."""
    config = CallbackConfig(fields.url(biz, "callback_url"), fields.url(biz, "refund_callback_url"))
    if not (config.pay_url or config.refund_url):
        raise InvalidParameter(
            "callback_url、refund_callback_url 至少传一个", sub_code="MISSING_PARAMETER"
        )
    return config
