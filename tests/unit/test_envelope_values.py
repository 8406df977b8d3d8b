"""The envelope's top-level values: strings are signed as they are and must be text PostgreSQL
can store; other JSON values are signed as their text, and PHP's variant prints some apart."""

from __future__ import annotations

import json

import pytest

from jubao.errors import InvalidParameter
from jubao.protocol.envelope import parse_envelope


def envelope_of(**params: object) -> bytes:
    base: dict[str, object] = {"app_id": "a1", "method": "fbpay.order.query", "sign": "S"}
    return json.dumps({**base, **params}, ensure_ascii=True).encode()


def test_strings_are_signed_as_they_are_non_ascii_included() -> None:
    parsed = parse_envelope(envelope_of(nonce="n-1", attach="门店 A", biz_content="{}"))
    assert parsed.signed_params["attach"] == "门店 A"
    assert parsed.php_params == parsed.signed_params
    assert "sign" not in parsed.signed_params


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("\ud800", "含有无效的 Unicode 字符"),
        ("a\x00b", "含有非法控制字符"),
        ("门\udfff", "Unicode"),
    ],
)
def test_a_string_that_cannot_be_stored_is_refused(value: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_envelope(envelope_of(attach=value))


def test_other_values_are_signed_as_their_text_and_printed_as_php_prints_them() -> None:
    body = b'{"app_id":"a1","method":"m","sign":"S","n":12,"f":1.50,"t":true,"z":null}'
    parsed = parse_envelope(body)
    assert parsed.signed_params == {
        "app_id": "a1", "method": "m", "n": "12", "f": "1.50", "t": "1", "z": None,
    }  # fmt: skip
    assert parsed.php_params["f"] == "1.5" and parsed.php_params["t"] == "1"
    assert parsed.php_params["n"] == "12" and parsed.php_params["z"] is None
