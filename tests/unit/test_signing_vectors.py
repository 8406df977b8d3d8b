"""Reference vectors V1-V4 (fubei-open-api.md 2.4 and 8.4)."""

from __future__ import annotations

import hashlib

import pytest

from jubao.protocol import notification, signing
from jubao.protocol.envelope import parse_envelope
from jubao.protocol.jsonwire import dumps

V1 = {
    "app_id": "20170609152021917511",
    "biz_content": '{"merchant_order_sn":"28867994"}',
    "format": "json",
    "method": "openapi.payment.order.close",
    "nonce": "87sdf9806sdf73jkds",
    "sign_method": "md5",
    "version": "1.0",
}
V1_SECRET = "672f295578a545c24b397bae275e6f81"

V2 = {
    "app_id": "20170607085534749364",
    "biz_content": (
        '{"merchant_order_sn":"20240101120000123","sub_openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",'
        '"total_fee":0.01,"store_id":145827,"body":"测试商品",'
        '"call_back_url":"https://merchant.example/notify"}'
    ),
    "format": "json",
    "method": "openapi.payment.order.mina",
    "nonce": "abcdefghijklmnopqrstuvwxyzABCDEF",
    "sign_method": "md5",
    "version": "1.0",
}
V2_SECRET = "1809d9615714ab8fdc90d0d838a0f2e1"

V4 = {
    "biz_content": '{"merchant_id":189160,"merchant_order_sn":"20240101120000123"}',
    "format": "json",
    "method": "fbpay.order.query",
    "nonce": "1624512345678",
    "sign_method": "md5",
    "vendor_sn": "2018113015321682303a",
    "version": "1.0",
}
V4_SECRET = "1b2da5600e53fde3c657a2652839b84e"

V3_DATA = (
    '{"merchant_order_sn":"20240101120000123","order_sn":"20240101120001234567",'
    '"trade_no":"1234567890","platform_order_no":"4200000000202401010000000000",'
    '"total_fee":0.01,"attach":"","trade_state":"SUCCESS"}'
)
V3_SECRET = "1809d9615714ab8fdc90d0d838a0f2e1"


@pytest.mark.parametrize(
    ("params", "secret", "expected"),
    [
        (V1, V1_SECRET, "C0A8CDE6A5F975E24FACAC48DF03701F"),
        (V2, V2_SECRET, "570AEAC6C99DFFA26E6AEE606060DF8E"),
        (V4, V4_SECRET, "DAEF2DC84E293A775A6A14CF71605E3F"),
    ],
    ids=["V1", "V2", "V4"],
)
def test_request_vectors(params: dict[str, str], secret: str, expected: str) -> None:
    assert signing.sign(params, secret) == expected
    assert signing.verify(params, secret, expected)
    assert signing.verify(params, secret, expected.lower())
    assert not signing.verify(params, secret, expected[:-1] + ("0" if expected[-1] != "0" else "1"))


def test_v1_base_string_matches_reference() -> None:
    assert signing.base_string(V1, skip_empty=False) + V1_SECRET == (
        'app_id=20170609152021917511&biz_content={"merchant_order_sn":"28867994"}&format=json'
        "&method=openapi.payment.order.close&nonce=87sdf9806sdf73jkds&sign_method=md5"
        "&version=1.0672f295578a545c24b397bae275e6f81"
    )


def test_notification_vector_v3() -> None:
    form = notification.build_form(V3_DATA, V3_SECRET)
    assert form["sign"] == "2036303DC3409DA568F039FD3811032D"
    assert notification.verify_form(form, V3_SECRET)


def test_either_empty_value_variant_is_accepted() -> None:
    params = dict(V1, vendor_sn="")
    with_empty = signing.sign(params, V1_SECRET, skip_empty=False)
    without_empty = signing.sign(params, V1_SECRET, skip_empty=True)
    assert with_empty != without_empty
    assert without_empty == signing.sign(V1, V1_SECRET)
    assert signing.verify(params, V1_SECRET, with_empty)
    assert signing.verify(params, V1_SECRET, without_empty)


def test_non_ascii_or_wrong_length_sign_never_verifies() -> None:
    assert not signing.verify(V1, V1_SECRET, "Ｃ0A8CDE6A5F975E24FACAC48DF03701F")
    assert not signing.verify(V1, V1_SECRET, "")
    assert not signing.verify(V1, V1_SECRET, "C0A8CDE6A5F975E24FACAC48DF03701F0")


def test_envelope_signs_biz_content_verbatim_and_numeric_nonce_as_digits() -> None:
    # PHP escapes non-ASCII and slashes; the gateway must sign the string it received.
    biz = '{"body":"\\u6d4b\\u8bd5","call_back_url":"https:\\/\\/m.example\\/n"}'
    params = {"app_id": V1["app_id"], "method": "openapi.get.time", "biz_content": biz,
              "nonce": "1700000000"}  # fmt: skip
    expected = hashlib.md5(
        ("app_id=" + V1["app_id"] + "&biz_content=" + biz + "&method=openapi.get.time"
         "&nonce=1700000000" + V1_SECRET).encode(), usedforsecurity=False
    ).hexdigest().upper()  # fmt: skip
    body = dumps({**params, "nonce": 1700000000, "sign": expected}).encode()
    envelope = parse_envelope(body)
    assert envelope.biz_content == biz
    assert envelope.signed_params["nonce"] == "1700000000"
    assert signing.verify(envelope.signed_params, V1_SECRET, envelope.sign)
