"""parse_notification for 2.0 (reference 8.2): payment and refund data, vendor or app secret,
form or JSON bodies, tampering."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from jubao.client import InvalidNotification, NotificationSignatureError
from jubao.client.v2 import (
    NOTIFICATION_ACK,
    OrderStatus,
    PaymentNotification,
    PayType,
    RefundNotification,
    RefundStatus,
    parse_notification,
)

VENDOR_SECRET = "1b2da5600e53fde3c657a2652839b84e"
APP_SECRET = "0123456789abcdef0123456789abcdef"
PAYMENT_DATA = (
    '{"uid":189160,"store_id":145827,"cashier_id":0,"total_amount":0.01,"net_amount":0.01,'
    '"buyer_pay_amount":0.01,"fee":0.00,"order_sn":"20240101120001234567",'
    '"merchant_order_sn":"20240101120000123","ins_order_sn":"1000240101120001234567",'
    '"channel_order_sn":"4200000000202401010000000000","order_status":"SUCCESS",'
    '"pay_type":"wxpay","user_id":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","finish_time":"20240101120005",'
    '"device_no":"","attach":"附加","payment_list":[],"alipay_extend_params":null,'
    '"is_can_part_refund":1,"bank_name":""}'
)
REFUND_DATA = (
    '{"handler":"","buyer_refund_amount":0.01,"refund_fee":0.00,"refund_amount":0.01,'
    '"finish_time":"20240101130000","order_sn":"20240101120001234567",'
    '"merchant_order_sn":"20240101120000123","refund_sn":"20240101130000000001",'
    '"merchant_refund_sn":"R1","refund_status":"REFUND_SUCCESS","device_no":""}'
)


def signed(data: str, secret: str) -> dict[str, str]:
    form = {"result_code": "200", "result_message": "成功", "data": data}
    base = "&".join(f"{key}={form[key]}" for key in sorted(form))
    form["sign"] = hashlib.md5((base + secret).encode("utf-8")).hexdigest().upper()
    return form


def test_the_ack_is_success() -> None:
    assert NOTIFICATION_ACK == "success"


@pytest.mark.parametrize("secret", [VENDOR_SECRET, APP_SECRET])
def test_a_payment_notification_signed_by_vendor_or_app(secret: str) -> None:
    body = urlencode(signed(PAYMENT_DATA, secret)).encode("ascii")
    notification = parse_notification(body, secret)
    assert isinstance(notification, PaymentNotification)
    assert notification.merchant_id == 189160  # from uid
    assert notification.order_status is OrderStatus.SUCCESS and notification.is_paid
    assert notification.pay_type is PayType.WXPAY
    assert notification.total_amount_fen == 1
    assert notification.ins_order_sn == "1000240101120001234567"
    assert notification.attach == "附加"
    assert notification.finish_time == datetime(2024, 1, 1, 4, 0, 5, tzinfo=UTC)


def test_a_refund_notification() -> None:
    notification = parse_notification(signed(REFUND_DATA, VENDOR_SECRET), VENDOR_SECRET)
    assert isinstance(notification, RefundNotification)
    assert notification.refund_status is RefundStatus.REFUND_SUCCESS
    assert (notification.refund_amount_fen, notification.merchant_refund_sn) == (1, "R1")
    assert notification.refund_fee is not None and notification.finish_time is not None


def test_a_json_body_is_accepted_too() -> None:
    form = signed(PAYMENT_DATA, APP_SECRET)
    body = json.dumps({**form, "result_code": 200}, ensure_ascii=False).encode()
    assert parse_notification(body, APP_SECRET) == parse_notification(form, APP_SECRET)


def test_the_other_secret_is_refused() -> None:
    with pytest.raises(NotificationSignatureError, match="vendor or app"):
        parse_notification(signed(PAYMENT_DATA, VENDOR_SECRET), APP_SECRET)


@pytest.mark.parametrize(
    "change",
    [
        {"data": PAYMENT_DATA.replace("0.01", "100.00")},
        {"result_message": "失败"},
        {"sign": ""},
        {"sign": "0" * 32},
    ],
)
def test_tampering_is_refused(change: dict[str, str]) -> None:
    form = {**signed(PAYMENT_DATA, VENDOR_SECRET), **change}
    with pytest.raises(NotificationSignatureError):
        parse_notification(form, VENDOR_SECRET)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "object"),
        (PAYMENT_DATA.replace('"SUCCESS"', '"PAID"'), "order_status"),
        (REFUND_DATA.replace('"refund_amount":0.01,', ""), "refund_amount"),
    ],
)
def test_a_signed_but_malformed_notification_is_invalid(data: str, message: str) -> None:
    with pytest.raises(InvalidNotification, match=message):
        parse_notification(signed(data, APP_SECRET), APP_SECRET)


def test_hostile_bodies_are_invalid() -> None:
    with pytest.raises(InvalidNotification):
        parse_notification(b"{" + b" " * 70_000 + b"}", APP_SECRET)
    with pytest.raises(InvalidNotification):
        parse_notification(b'{"data": {"nested": 1}, "sign": "x"}', APP_SECRET)
    with pytest.raises(InvalidNotification, match="twice"):
        parse_notification(b"sign=a&sign=b", APP_SECRET)
    with pytest.raises(ValueError, match="secret"):
        parse_notification(signed(PAYMENT_DATA, APP_SECRET), "")
