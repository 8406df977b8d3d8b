"""The signature variants real clients produce (docs/protocol.md "Signature variants"), each
signed here by an independent signer written from the reference, and what stays refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from jubao.errors import InvalidParameter
from jubao.protocol import signing
from jubao.protocol.envelope import FORM_CONTENT_TYPE, parse_envelope

SECRET = "672f295578a545c24b397bae275e6f81"
BASE = {
    "app_id": "20170609152021917511",
    "method": "openapi.get.time",
    "nonce": "87sdf9806sdf73jkds",
    "biz_content": "{}",
}


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def php_sdk_sign(params: dict[str, str]) -> str:
    """The official PHP SDK: keys lower-cased, sorted, every value included."""
    lowered = {key.lower(): value for key, value in params.items()}
    return md5_upper("&".join(f"{k}={lowered[k]}" for k in sorted(lowered)) + SECRET)


def php_empty_skipping_sign(params: dict[str, str]) -> str:
    """Third-party PHP clients: keys as sent, values PHP's empty() drops ("", "0") left out."""
    kept = {k: v for k, v in params.items() if v not in ("", "0")}
    return md5_upper("&".join(f"{k}={kept[k]}" for k in sorted(kept)) + SECRET)


def verify_body(raw: dict[str, Any], sign: str, content_type: str = "") -> bool:
    envelope = parse_envelope(json.dumps({**raw, "sign": sign}).encode(), content_type)
    return signing.verify(
        envelope.signed_params, SECRET, envelope.sign, php_params=envelope.php_params
    )


def test_keys_lower_cased_in_the_sign_string_verify() -> None:
    params = {**BASE, "Terminal_Id": "T1"}
    sign = php_sdk_sign(params)
    assert sign != signing.sign(params, SECRET)  # a genuinely different string
    assert verify_body(params, sign)


def test_zero_skipped_as_empty_verifies() -> None:
    params = {**BASE, "vendor_sn": "", "device_no": "0"}
    sign = php_empty_skipping_sign(params)
    assert sign != signing.sign(params, SECRET, skip_empty=True)  # "0" makes the difference
    assert verify_body(params, sign)


@pytest.mark.parametrize(
    ("value", "php_text"),
    [
        (True, "1"),
        (1.0, "1"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1700000000.123456, "1700000000.1235"),  # 14 significant digits
        (1e25, "1.0E+25"),
        (1.5e-5, "1.5E-5"),
        (0.0001, "0.0001"),
    ],
)
def test_booleans_and_floats_sign_as_php_prints_them(value: Any, php_text: str) -> None:
    params = {**BASE, "flag": php_text}
    sign = md5_upper("&".join(f"{k}={params[k]}" for k in sorted(params)) + SECRET)
    assert verify_body({**BASE, "flag": value}, sign)


def test_false_signs_as_empty_either_way() -> None:
    included = {**BASE, "flag": ""}
    with_empty = md5_upper("&".join(f"{k}={included[k]}" for k in sorted(included)) + SECRET)
    assert verify_body({**BASE, "flag": False}, with_empty)
    assert verify_body({**BASE, "flag": False}, php_empty_skipping_sign(BASE))


def test_exact_float_text_still_verifies_and_what_no_client_sends_does_not() -> None:
    exact = {**BASE, "version": "1.0"}
    assert verify_body({**BASE, "version": 1.0}, signing.sign(exact, SECRET))
    # no client prints a boolean as "true" into a Fubei sign string
    as_words = {**BASE, "flag": "true"}
    assert not verify_body({**BASE, "flag": True}, signing.sign(as_words, SECRET))
    # nor appends the secret with a key (the unverified Node plugin of reference 2.7)
    odd = md5_upper("&".join(f"{k}={BASE[k]}" for k in sorted(BASE)) + "&app_secret=" + SECRET)
    assert not verify_body(BASE, odd)


def test_every_candidate_is_compared_whichever_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    params = {**BASE, "Terminal_Id": "0", "vendor_sn": ""}
    php = dict(params)
    candidates = signing.candidate_strings(params, php)
    # {as sent, lower-cased} x {all, non-empty, PHP non-empty}; dropping Terminal_Id="0" makes
    # the key case irrelevant, so two of the six coincide
    assert len(candidates) == 5
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for text in [candidates[0], candidates[-1], None]:
        calls.clear()
        sign = md5_upper(text + SECRET) if text is not None else "0" * 32
        assert signing.verify(params, SECRET, sign, php_params=php) is (text is not None)
        assert len(calls) == len(candidates)


def test_a_plain_request_builds_one_candidate() -> None:
    assert len(signing.candidate_strings(BASE, dict(BASE))) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "N&sign_method=md5"},
        {"nonce": "a=b"},
        {"version": "1.0&x"},
        {"method": "openapi.get.time&format=json"},
        {"app_id": "1&app_id=2"},
        {"extra": "k=v"},
        {"nonce": "含中文"},
        {"nonce": "with space"},
        {"nonce": "a+b"},
    ],
)
def test_separators_outside_biz_content_and_odd_nonces_are_refused(
    changes: dict[str, str],
) -> None:
    with pytest.raises(InvalidParameter):
        parse_envelope(json.dumps({**BASE, **changes, "sign": "0" * 32}).encode())


@pytest.mark.parametrize(
    "nonce", ["12312", "ilay1380", "1624512345678", "3f2b9c1e-8a7d-4c2b-9e1f-0a1b2c3d4e5f",
              "5f1a2b3c4d5e6.12345678", "tok_Ab-9", 1700000000, 1700000000.25],
)  # fmt: skip
def test_the_nonces_real_sdks_send_are_accepted(nonce: Any) -> None:
    parse_envelope(json.dumps({**BASE, "nonce": nonce, "sign": "0" * 32}).encode())


def test_biz_content_may_hold_separators_and_keys_may_not() -> None:
    parse_envelope(json.dumps({**BASE, "biz_content": '{"a":"x&y=z"}', "sign": "0" * 32}).encode())
    for key in ["a&b", "a=b", "NONCE"]:  # NONCE: the same key as nonce, lower-cased
        with pytest.raises(InvalidParameter):
            parse_envelope(json.dumps({**BASE, key: "v", "sign": "0" * 32}).encode())


def test_a_form_body_carries_the_same_parameters_and_signature() -> None:
    params = {**BASE, "biz_content": '{"merchant_order_sn":"a&b=c 测试"}', "format": "json"}
    sign = signing.sign(params, SECRET)
    form = urlencode({**params, "sign": sign}).encode()
    envelope = parse_envelope(form, FORM_CONTENT_TYPE + "; charset=UTF-8")
    assert envelope.signed_params == params
    assert envelope.biz_content == params["biz_content"]
    assert signing.verify(envelope.signed_params, SECRET, envelope.sign)
    for broken in [b"app_id", b"a=1&a=2", b"%ff=1"]:
        with pytest.raises(InvalidParameter) as caught:
            parse_envelope(broken, FORM_CONTENT_TYPE)
        assert caught.value.sub_code == "INVALID_FORM"
