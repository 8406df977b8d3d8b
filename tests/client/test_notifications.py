"""parse_notification: vector V3 (fubei-open-api.md 8.4), tampering, and refund notifications."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from jubao.client import (
    NOTIFICATION_ACK,
    InvalidNotification,
    NotificationSignatureError,
    PaymentNotification,
    RefundNotification,
    parse_notification,
)

V3_SECRET = "1809d9615714ab8fdc90d0d838a0f2e1"
V3_DATA = (
    '{"merchant_order_sn":"20240101120000123","order_sn":"20240101120001234567",'
    '"trade_no":"1234567890","platform_order_no":"4200000000202401010000000000",'
    '"total_fee":0.01,"attach":"","trade_state":"SUCCESS"}'
)
V3 = {
    "result_code": "200",
    "result_message": "成功",
    "data": V3_DATA,
    "sign": "2036303DC3409DA568F039FD3811032D",
}


def independent_sign(form: dict[str, str], secret: str) -> str:
    base = "&".join(f"{key}={form[key]}" for key in sorted(form) if key != "sign")
    return hashlib.md5((base + secret).encode("utf-8")).hexdigest().upper()


def test_the_ack_is_exactly_success() -> None:
    assert NOTIFICATION_ACK == "success"


def test_vector_v3_is_accepted_as_a_mapping() -> None:
    notification = parse_notification(V3, V3_SECRET)
    assert isinstance(notification, PaymentNotification)
    assert notification.merchant_order_sn == "20240101120000123"
    assert notification.order_sn == "20240101120001234567"
    assert notification.platform_order_no == "4200000000202401010000000000"
    assert notification.total_fee == Decimal("0.01")
    assert notification.total_fee_fen == 1
    assert notification.is_paid


def test_vector_v3_is_accepted_as_the_raw_form_body() -> None:
    body = urlencode(V3).encode("ascii")
    assert b"%E6%88%90%E5%8A%9F" in body  # 成功, UTF-8 percent-encoded
    notification = parse_notification(body, V3_SECRET)
    assert notification == parse_notification(V3, V3_SECRET)


def test_a_lower_case_sign_is_accepted() -> None:
    parse_notification({**V3, "sign": V3["sign"].lower()}, V3_SECRET)


def one_character_changes(value: str) -> list[str]:
    """Every position changed to a different character (case-flips of hex digits excluded)."""
    changed = []
    for index, char in enumerate(value):
        replacement = "0" if char not in "0" else "1"
        if char.isalpha() and char.isascii():
            replacement = "9"
        changed.append(value[:index] + replacement + value[index + 1 :])
    return changed


@pytest.mark.parametrize("name", ["data", "result_code", "result_message", "sign"])
def test_any_one_character_change_to_any_field_is_refused(name: str) -> None:
    variants = one_character_changes(V3[name])
    assert variants
    for variant in variants:
        with pytest.raises(NotificationSignatureError):
            parse_notification({**V3, name: variant}, V3_SECRET)


@pytest.mark.parametrize("name", ["data", "result_message"])
def test_an_appended_or_removed_character_is_refused(name: str) -> None:
    for variant in (V3[name] + " ", V3[name][:-1]):
        with pytest.raises(NotificationSignatureError):
            parse_notification({**V3, name: variant}, V3_SECRET)


def test_the_wrong_secret_is_refused() -> None:
    with pytest.raises(NotificationSignatureError):
        parse_notification(V3, V3_SECRET[:-1] + "0")


@pytest.mark.parametrize("sign", [None, ""])
def test_a_missing_sign_is_refused(sign: str | None) -> None:
    form = {key: value for key, value in V3.items() if key != "sign"}
    if sign is not None:
        form["sign"] = sign
    with pytest.raises(NotificationSignatureError, match="no sign"):
        parse_notification(form, V3_SECRET)


def test_an_extra_unsigned_field_is_refused() -> None:
    with pytest.raises(NotificationSignatureError):
        parse_notification({**V3, "extra": "1"}, V3_SECRET)


def test_a_duplicated_field_in_the_body_is_refused() -> None:
    body = urlencode(V3).encode() + b"&data=%7B%7D"
    with pytest.raises(InvalidNotification, match="twice"):
        parse_notification(body, V3_SECRET)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(InvalidNotification):
        parse_notification(b"data=%FF%FE&sign=x", V3_SECRET)


def signed(data: str, secret: str = V3_SECRET) -> dict[str, str]:
    form = {"result_code": "200", "result_message": "成功", "data": data}
    form["sign"] = independent_sign(form, secret)
    return form


def test_a_refund_notification_is_typed_as_a_refund() -> None:
    data = (
        '{"order_sn":"1","merchant_order_sn":"M1","trade_no":"1","refund_sn":"9",'
        '"merchant_refund_sn":"R1","refund_money":0.01,"refund_status":"REFUND_SUCCESS",'
        '"refund_time":1704067200}'
    )
    notification = parse_notification(urlencode(signed(data)).encode(), V3_SECRET)
    assert isinstance(notification, RefundNotification)
    assert notification.refund_sn == "9"
    assert notification.refund_status == "REFUND_SUCCESS"
    assert notification.refund_money_fen == 1


@pytest.mark.parametrize(
    "data", ["not json", "[1]", '{"order_sn":"1"}', '{"refund_sn":"9"}', '{"a":1,"a":2}']
)
def test_signed_but_malformed_data_is_invalid_notification(data: str) -> None:
    with pytest.raises(InvalidNotification):
        parse_notification(signed(data), V3_SECRET)


def test_a_signed_non_200_result_code_is_invalid_notification() -> None:
    form = {"result_code": "400", "result_message": "失败", "data": V3_DATA}
    form["sign"] = independent_sign(form, V3_SECRET)
    with pytest.raises(InvalidNotification, match="result_code"):
        parse_notification(form, V3_SECRET)
