"""Business request schemas of the two 2.0 methods that answer a QR served by jubao's cashier
page (聚合码, reference section 6): ``fbpay.fixed.qrcode.create`` and ``fbpay.order.qrcode``
(定额码). Pure. The order fields are read as every 2.0 order's (``fbpay.parse_order``); fields
that steer a channel request the page makes later (``sub_appid``, ``user_id``, ``goods_tag``,
``detail``, ``timeout_express``, ``alipay_extend_params``, ``device_no``) are accepted and not
used: the page finds the payer itself, and the code's expiry bounds the order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jubao.errors import InvalidParameter
from jubao.kinds import ChannelName
from jubao.protocol import fbpay, fields, jsonwire
from jubao.protocol.methods import SceneOrder

__all__ = [
    "DEFAULT_EXPIRED_TIME",
    "FIXED_QRCODE_CREATE",
    "MAX_EXPIRED_TIME",
    "MIN_EXPIRED_TIME",
    "ORDER_QRCODE",
    "QrcodeRequest",
    "checked_expired_time",
    "parse_fixed_qrcode",
    "parse_order_qrcode",
]

FIXED_QRCODE_CREATE = "fbpay.fixed.qrcode.create"
ORDER_QRCODE = "fbpay.order.qrcode"

DEFAULT_EXPIRED_TIME = 600  # seconds (Fubei's .NET SDK default)
MIN_EXPIRED_TIME = 60
MAX_EXPIRED_TIME = 86_400


@dataclass(frozen=True, slots=True)
class QrcodeRequest:
    order: SceneOrder
    expire_seconds: int
    channel: ChannelName | None  # only this wallet may pay (``fbpay.order.qrcode``'s pay_type)


def _expired_time(biz: dict[str, Any]) -> int:
    seconds = fields.integer(biz, "expired_time", minimum=0, maximum=fields.INT10_MAX)
    if seconds is None or seconds == 0:  # .NET sends 0 for "not set"
        return DEFAULT_EXPIRED_TIME
    return checked_expired_time(seconds)


def checked_expired_time(seconds: int) -> int:
    """``seconds`` if a code may live that long (the wire's bounds; cashier codes hold to them
    whoever asks)."""
    if not MIN_EXPIRED_TIME <= seconds <= MAX_EXPIRED_TIME:
        raise InvalidParameter(
            f"参数 expired_time 必须在 {MIN_EXPIRED_TIME} 到 {MAX_EXPIRED_TIME} 秒之间"
        )
    return seconds


def parse_fixed_qrcode(biz: dict[str, Any]) -> QrcodeRequest:
    """``fbpay.fixed.qrcode.create`` (聚合码): any wallet; ``expired_time`` seconds (600)."""
    return QrcodeRequest(fbpay.parse_order(biz), _expired_time(biz), None)


def parse_order_qrcode(biz: dict[str, Any]) -> QrcodeRequest:
    """``fbpay.order.qrcode`` (定额码): as above; a ``pay_type`` (``wxpay``/``alipay``), when
    sent, lets only that wallet pay."""
    word = fields.text(biz, "pay_type", max_len=16)
    channel = None
    if word:
        if word not in ("wxpay", "alipay"):
            shown = jsonwire.preview(word)
            raise InvalidParameter(f"参数 pay_type={shown} 无效：支持 wxpay、alipay")
        channel = fbpay.PAY_TYPES[word]
    return QrcodeRequest(fbpay.parse_order(biz), _expired_time(biz), channel)
