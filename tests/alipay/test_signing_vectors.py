"""The RSA2 rules against vectors computed here with ``cryptography`` directly (never with the
channel's or the simulator's own helpers), both directions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jubao.channels.alipay import load_private_key, load_public_key, signing
from jubao.channels.alipay.amounts import fen_to_yuan, yuan_to_fen
from jubao.channels.alipay_simulator import wire

# Reference §2.1: the parameters and the exact string Alipay signs.
VECTOR_PARAMS = {
    "app_id": "2021000000000001",
    "method": "alipay.trade.pay",
    "format": "json",
    "charset": "utf-8",
    "sign_type": "RSA2",
    "timestamp": "2026-01-01 12:00:00",
    "version": "1.0",
    "notify_url": "https://jubao.example/alipay/notify",
    "app_auth_token": "",
    "biz_content": '{"out_trade_no":"20260101120000000001","total_amount":"0.01",'
    '"subject":"测试商品","scene":"bar_code","auth_code":"286599018866153322"}',
}
VECTOR_STRING = (
    'app_id=2021000000000001&biz_content={"out_trade_no":"20260101120000000001",'
    '"total_amount":"0.01","subject":"测试商品","scene":"bar_code",'
    '"auth_code":"286599018866153322"}&charset=utf-8&format=json&method=alipay.trade.pay'
    "&notify_url=https://jubao.example/alipay/notify&sign_type=RSA2"
    "&timestamp=2026-01-01 12:00:00&version=1.0"
)

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _reference_sign(text: bytes) -> str:
    return base64.b64encode(KEY.sign(text, padding.PKCS1v15(), hashes.SHA256())).decode()


def _reference_verify(text: bytes, signature: str) -> None:
    KEY.public_key().verify(base64.b64decode(signature), text, padding.PKCS1v15(), hashes.SHA256())


def _pem(form: serialization.PrivateFormat) -> str:
    return KEY.private_bytes(
        serialization.Encoding.PEM, form, serialization.NoEncryption()
    ).decode()


def _bare(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_request_sign_string_matches_the_reference_vector() -> None:
    assert signing.request_content(VECTOR_PARAMS) == VECTOR_STRING
    assert wire.sign_string(VECTOR_PARAMS, ("sign",)) == VECTOR_STRING
    with_sign = {**VECTOR_PARAMS, "sign": "ignored"}
    assert signing.request_content(with_sign) == VECTOR_STRING


def test_notification_string_drops_sign_and_sign_type() -> None:
    fields = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "empty": ""}
    assert signing.notification_content(fields) == "a=1&b=2"
    assert wire.sign_string(fields, ("sign", "sign_type")) == "a=1&b=2"


@pytest.mark.parametrize(
    "key_text",
    [
        _pem(serialization.PrivateFormat.PKCS8),
        _pem(serialization.PrivateFormat.TraditionalOpenSSL),
        _bare(_pem(serialization.PrivateFormat.PKCS8)),
        _bare(_pem(serialization.PrivateFormat.TraditionalOpenSSL)),
    ],
)
def test_channel_signature_equals_the_reference(key_text: str) -> None:
    # PKCS#1 v1.5 is deterministic: the same key and text give the same signature.
    ours = signing.sign(load_private_key(key_text), VECTOR_STRING)
    assert ours == _reference_sign(VECTOR_STRING.encode())
    _reference_verify(VECTOR_STRING.encode(), ours)


def test_channel_verifies_reference_signatures_only() -> None:
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for text in (public_pem.decode(), _bare(public_pem.decode())):
        key = load_public_key(text)
        signature = _reference_sign("金额=0.01".encode())
        assert signing.verify(key, "金额=0.01", signature)
        assert not signing.verify(key, "金额=0.02", signature)
        assert not signing.verify(key, "金额=0.01", "not base64!")


def test_simulator_answer_is_signed_over_the_inner_text() -> None:
    payload: dict[str, Any] = {"code": "10000", "msg": "Success", "subject": '{"括号"} /', "n": 1}
    body = wire.render_answer("alipay_trade_query_response", payload, KEY)
    text = body.decode()
    inner = text[len('{"alipay_trade_query_response":') : text.index(',"sign":"')]
    assert json.loads(inner) == payload
    signature = json.loads(body)["sign"]
    _reference_verify(inner.encode(), signature)
    with pytest.raises(InvalidSignature):
        _reference_verify(json.dumps(payload).encode(), signature)


def test_response_parts_keep_exact_bytes() -> None:
    inner = b'{ "a" : "}{\\"}" , "b":[1,{"c":"]"}], "\xe4\xb8\xad":null }'
    body = b' {"x_response" :' + inner + b', "sign":"c2lnbg==", "n": -1.5e3 } '
    parts = signing.response_parts(body)
    assert parts == {"x_response": inner, "sign": b'"c2lnbg=="', "n": b"-1.5e3"}
    for broken in (b"[]", b'{"a":{"b":1}', b'{"a":1}{', b'{"a":1,"a":2}', b'{"a":"x'):
        with pytest.raises(signing.ResponseShapeError):
            signing.response_parts(broken)


@pytest.mark.parametrize(
    ("text", "fen"), [("0.01", 1), ("88.88", 8888), ("1", 100), ("100000000.00", 10_000_000_000)]
)
def test_yuan_text_round_trips_exactly(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("text", ["0.001", "1e2", "-1", " ", "1,00", "0x10", "１.00", None, 1.5])
def test_malformed_yuan_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        yuan_to_fen(text)
