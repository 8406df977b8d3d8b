"""The envelope's top-level values: strings are signed as they are and must be text PostgreSQL
can store; other JSON values are signed as their text, and PHP's variant prints some apart."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jubao.errors import InvalidParameter, JubaoError
from jubao.protocol import envelope, jsonwire
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


# Parameters on either side of each check (case, & and =, NUL, a lone surrogate, non-ASCII,
# empty, other JSON types), mostly usual: the shortcut is taken and missed about equally.
_keys = st.sampled_from(["a", "b_c", "nonce", "x1", "", "A", "Nonce", "a&b", "a=b", "门"])
_values = st.sampled_from(
    ["v", "门店", "", "1", "0", "a=b", "a&b", "x\x00", "\ud800", None, True, 12, Decimal("1.50")]
)


def _outcome(raw: dict[str, Any]) -> object:
    body = jsonwire.dumpb({**raw, "sign": raw.get("sign", "S")})
    try:
        parsed = parse_envelope(body)
    except JubaoError as exc:
        return (type(exc).__name__, exc.message)
    return (parsed.signed_params, parsed.php_params, parsed.app_id, parsed.method)


@settings(max_examples=400)
@given(
    st.dictionaries(_keys, _values, max_size=3),
    st.sampled_from(["app_id", "app_id", "app_id", "APP_ID"]),
    st.sampled_from(['{"k":"v"}', '{"k":"门店"}', '{"url":"https://m.example/n?a=1&b=2"}']),
)
def test_the_usual_envelopes_shortcut_decides_as_the_checks_of_each_parameter(
    extra: dict[str, Any], app_key: str, biz: str
) -> None:
    raw: dict[str, Any] = {app_key: "a1", "method": "m", "biz_content": biz, **extra}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(envelope, "_usual", lambda raw: False)
        expected = _outcome(raw)
    assert _outcome(raw) == expected


def test_the_usual_envelope_takes_the_shortcut() -> None:
    raw = {"app_id": "a1", "method": "m", "nonce": "n1", "biz_content": '{"k":"门店"}', "sign": "S"}
    assert envelope._usual(raw)
    unusual: list[dict[str, Any]] = [{"App_id": "a1"}, {"x": "a=b"}, {"x": "a&b"}, {"a=b": "v"}]
    unusual += [{"x": "\x00"}, {"x": "\ud800"}, {"门": "v"}, {"x": 1}, {"x": None}, {"": "v"}]
    for extra in unusual:
        assert not envelope._usual({**raw, **extra}), extra
