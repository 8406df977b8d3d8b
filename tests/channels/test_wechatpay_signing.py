"""The sans-I/O pieces: message builders, RSA sign/verify, AES-GCM, keys, status mapping."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from jubao.channels.base import RefundStatus, TradeStatus
from jubao.channels.wechatpay import (
    aesgcm,
    generate_sp_credentials,
    load_private_key,
    load_public_key,
    mapping,
    signing,
)
from tests.channels.wechatpay_fake import rsa_sign, rsa_verify

KEY_32 = b"0123456789abcdefABCDEF0123456789"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# ---- messages -----------------------------------------------------------------------------------


def test_request_message_has_five_terminated_lines() -> None:
    message = signing.request_message("get", "/v3/x?a=1", "1554208460", "NONCE", b"")
    assert message == b"GET\n/v3/x?a=1\n1554208460\nNONCE\n\n"
    body = '{"description":"咖啡"}'.encode()
    assert (
        signing.request_message("POST", "/p", "1", "n", body) == b"POST\n/p\n1\nn\n" + body + b"\n"
    )


def test_response_and_pay_sign_messages() -> None:
    assert signing.response_message("1", "n", b"{}") == b"1\nn\n{}\n"
    assert signing.response_message("1", "n", b"") == b"1\nn\n\n"
    assert (
        signing.pay_sign_message("wx2421b1c4370ec43b", "1554208460", "593BEC", "prepay_id=wx20")
        == b"wx2421b1c4370ec43b\n1554208460\n593BEC\nprepay_id=wx20\n"
    )


def test_authorization_header_format() -> None:
    header = signing.authorization_header(
        mchid="1900000001", serial_no="ABC", nonce="N", timestamp="1", signature="S=="
    )
    assert header == (
        'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="N",signature="S==",'
        'timestamp="1",serial_no="ABC"'
    )


def test_nonce_is_32_alnum() -> None:
    nonces = {signing.new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", nonce) for nonce in nonces)


# ---- RSA ----------------------------------------------------------------------------------------


def test_sign_agrees_with_an_independent_verifier(key: rsa.RSAPrivateKey) -> None:
    message = b"GET\n/v3/x\n1\nn\n\n"
    rsa_verify(key.public_key(), message, signing.sign(key, message))
    assert signing.verify(key.public_key(), message, rsa_sign(key, message))


@settings(max_examples=25, deadline=None)
@given(body=st.binary(max_size=256))
def test_verify_refuses_any_other_body(key: rsa.RSAPrivateKey, body: bytes) -> None:
    signature = signing.sign(key, signing.response_message("1", "n", body))
    assert signing.verify(key.public_key(), signing.response_message("1", "n", body), signature)
    other = signing.response_message("1", "n", body + b" ")
    assert not signing.verify(key.public_key(), other, signature)


@pytest.mark.parametrize("signature", ["", "%%%", base64.b64encode(b"short").decode()])
def test_verify_refuses_malformed_signatures(key: rsa.RSAPrivateKey, signature: str) -> None:
    assert not signing.verify(key.public_key(), b"m", signature)


def _headers(key: rsa.RSAPrivateKey, ts: str, body: bytes, serial: str = "PUB") -> dict[str, str]:
    signature = rsa_sign(key, f"{ts}\nnonce\n".encode() + body + b"\n")
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": "nonce",
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
    }


def test_verify_signed_headers_window_is_strict(key: rsa.RSAPrivateKey) -> None:
    public = key.public_key()
    for ts in ("1000", "1299", "701"):
        signing.verify_signed_headers(
            _headers(key, ts, b"{}"), b"{}", public_key=public, public_key_id="PUB",
            now=1000, window_seconds=300,
        )  # fmt: skip
    for ts in ("1300", "700", "-5", "1e3", "١٠٠٠"):
        with pytest.raises(signing.VerificationFailed):
            signing.verify_signed_headers(
                _headers(key, ts, b"{}"), b"{}", public_key=public, public_key_id="PUB",
                now=1000, window_seconds=300,
            )  # fmt: skip


def test_signed_headers_are_found_in_any_case_in_every_kind_of_mapping() -> None:
    """The channel's client keys answers' headers in lower case, Starlette's look up in any case,
    a plain dict keeps whatever case it was given: each is read alike."""
    from starlette.datastructures import Headers

    named = {"Wechatpay-Timestamp": "1000", "WECHATPAY-NONCE": "n", "wechatpay-signature": "s"}
    lowered = {key.lower(): value for key, value in named.items()}
    starlette = Headers(raw=[(k.encode(), v.encode()) for k, v in named.items()])
    for headers in (named, lowered, starlette):
        signed = signing.SignedHeaders(headers)
        assert (signed.timestamp, signed.nonce, signed.signature) == ("1000", "n", "s")
        assert signed.serial == ""  # absent: empty, and refused by verify_signed_headers_by


# ---- AES-GCM ------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=512), aad=st.sampled_from(["transaction", "refund", ""]))
def test_decrypt_inverts_an_independent_encrypt(plaintext: bytes, aad: str) -> None:
    nonce = "0123456789ab"
    sealed = AESGCM(KEY_32).encrypt(nonce.encode(), plaintext, aad.encode())
    assert aesgcm.decrypt(KEY_32, nonce, aad, base64.b64encode(sealed).decode()) == plaintext


def test_decrypt_failures() -> None:
    nonce = "0123456789ab"
    sealed = base64.b64encode(AESGCM(KEY_32).encrypt(nonce.encode(), b"x", b"refund")).decode()
    with pytest.raises(aesgcm.DecryptionFailed, match="GCM tag"):
        aesgcm.decrypt(b"f" * 32, nonce, "refund", sealed)
    with pytest.raises(aesgcm.DecryptionFailed, match="GCM tag"):
        aesgcm.decrypt(KEY_32, nonce, "transaction", sealed)  # AAD is authenticated
    with pytest.raises(aesgcm.DecryptionFailed, match="base64"):
        aesgcm.decrypt(KEY_32, nonce, "refund", "not base64!")
    with pytest.raises(aesgcm.DecryptionFailed, match="shorter"):
        aesgcm.decrypt(KEY_32, nonce, "refund", base64.b64encode(b"tiny").decode())
    with pytest.raises(aesgcm.DecryptionFailed, match="nonce"):
        aesgcm.decrypt(KEY_32, "", "refund", sealed)


# ---- keys ---------------------------------------------------------------------------------------


def test_generated_credentials_sign_and_verify() -> None:
    private_pem, public_pem, serial = generate_sp_credentials()
    assert re.fullmatch(r"[0-9A-F]{40}", serial)
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    private, public = load_private_key(private_pem), load_public_key(public_pem)
    assert private.key_size == 2048
    assert signing.verify(public, b"m", signing.sign(private, b"m"))


def test_pkcs1_pem_and_certificates_load(key: rsa.RSAPrivateKey) -> None:
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert pkcs1.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert load_private_key(pkcs1).private_numbers() == key.private_numbers()
    pkcs1_public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert load_public_key(pkcs1_public).public_numbers() == key.public_key().public_numbers()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5157F09E)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    loaded = load_public_key(cert.public_bytes(serialization.Encoding.PEM))
    assert loaded.public_numbers() == key.public_key().public_numbers()


def test_non_rsa_or_garbage_keys_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="RSA"):
        load_private_key(ec_pem)
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="RSA"):
        load_public_key(ec_public)
    with pytest.raises(ValueError, match="PEM"):
        load_private_key(b"garbage")
    with pytest.raises(ValueError, match="PEM"):
        load_public_key(b"garbage")


# ---- mapping ------------------------------------------------------------------------------------


def test_trade_state_table_is_exhaustive() -> None:
    assert set(mapping.TRADE_STATES) == {
        "SUCCESS", "REFUND", "NOTPAY", "USERPAYING", "CLOSED", "REVOKED", "PAYERROR",
    }  # fmt: skip
    assert set(mapping.TRADE_STATES.values()) == set(TradeStatus)
    assert mapping.trade_status("") is TradeStatus.PENDING
    assert mapping.trade_status("success") is TradeStatus.PENDING  # case matters: unknown


def test_refund_status_table_is_exhaustive() -> None:
    assert set(mapping.REFUND_STATUSES) == {"SUCCESS", "PROCESSING", "CLOSED", "ABNORMAL"}
    assert set(mapping.REFUND_STATUSES.values()) == set(RefundStatus)
    assert mapping.refund_status("NEW") is RefundStatus.PROCESSING


@pytest.mark.parametrize(
    ("code", "normal"),
    [("ORDERPAID", "ORDER_PAID"), ("ORDER_PAID", "ORDER_PAID"), ("PARAM_ERROR", "PARAM_ERROR")],
)
def test_error_codes_are_normalised(code: str, normal: str) -> None:
    assert mapping.normalise_error_code(code) == normal


def test_time_expire_is_beijing_time() -> None:
    moment = datetime(2026, 11, 25, 15, 13, 0, 999_999, tzinfo=UTC)
    assert mapping.format_rfc3339(moment) == "2026-11-25T23:13:00+08:00"
    new_york = timezone(timedelta(hours=-5))
    assert (
        mapping.format_rfc3339(datetime(2026, 11, 25, 10, 13, tzinfo=new_york))
        == "2026-11-25T23:13:00+08:00"
    )
    with pytest.raises(ValueError, match="aware"):
        mapping.format_rfc3339(datetime(2026, 11, 25, 23, 13))


def test_parse_rfc3339() -> None:
    expected = datetime(2026, 11, 25, 15, 0, 1, tzinfo=UTC)
    assert mapping.parse_rfc3339("2026-11-25T23:00:01+08:00") == expected
    assert mapping.parse_rfc3339("2026-11-25T15:00:01Z") == expected
    assert mapping.parse_rfc3339("2026-11-25T23:00:01") == expected  # bare: Beijing time
    with pytest.raises(mapping.MappingError):
        mapping.parse_rfc3339("yesterday")
