"""WeChat Pay v3 signatures, sans I/O.

Three messages, each line terminated by ``\\n`` (the last one too):

* request  (merchant -> WeChat): ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n``
* response / notification (WeChat -> merchant): ``timestamp\\nnonce\\nbody\\n``
* mini-program paySign: ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``

All are RSA PKCS#1 v1.5 with SHA-256, base64-encoded. Bodies are the raw bytes on the wire, never
a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "AUTH_SCHEME",
    "SIGNTEST_PREFIX",
    "SignedHeaders",
    "UnknownSerial",
    "VerificationFailed",
    "authorization_header",
    "new_nonce",
    "pay_sign_message",
    "request_message",
    "response_message",
    "sign",
    "verify",
    "verify_signed_headers",
    "verify_signed_headers_by",
]

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
# immutable: made once, not for each of the three RSA operations of every order
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_SIGNED_HEADERS = (
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
)


class VerificationFailed(ValueError):
    """A response or notification signature cannot be trusted; the text says why (for logs)."""


class UnknownSerial(VerificationFailed):
    """``Wechatpay-Serial`` names no key we hold (certificate mode: download them again)."""


def new_nonce(length: int = 32) -> str:
    # Hex is alphanumeric: one urandom read rather than one per character (10% of a loaded
    # gateway's CPU in a py-spy profile, docs/benchmarks.md).
    return secrets.token_hex((length + 1) // 2)[:length]


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    head = f"{method.upper()}\n{url}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def pay_sign_message(app_id: str, timestamp: str, nonce: str, package: str) -> bytes:
    return f"{app_id}\n{timestamp}\n{nonce}\n{package}\n".encode()


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    signature = private_key.sign(message, _PKCS1, _SHA256)
    return base64.b64encode(signature).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message, _PKCS1, _SHA256)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def authorization_header(
    *, mchid: str, serial_no: str, nonce: str, timestamp: str, signature: str
) -> str:
    return (
        f'{AUTH_SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


class SignedHeaders:
    """The ``Wechatpay-*`` headers of a response or notification, looked up case-insensitively."""

    __slots__ = ("nonce", "serial", "signature", "timestamp")

    def __init__(self, headers: Mapping[str, str]) -> None:
        # The channel's client keys headers in lower case and Starlette's look up in any case:
        # both answer at once. Another mapping is lowered whole when a name is not found.
        values = [headers.get(name) for name in _SIGNED_HEADERS]
        if None in values:
            lowered = {key.lower(): value for key, value in headers.items()}
            values = [lowered.get(name) for name in _SIGNED_HEADERS]
        self.timestamp, self.nonce, self.signature, self.serial = (v or "" for v in values)


def verify_signed_headers(
    headers: Mapping[str, str],
    body: bytes,
    *,
    public_key: rsa.RSAPublicKey,
    public_key_id: str,
    now: int,
    window_seconds: int,
) -> None:
    """Check a response or notification against one key ("WeChat Pay public key" mode)."""
    verify_signed_headers_by(
        headers,
        body,
        key_for=lambda serial: public_key if serial == public_key_id else None,
        now=now,
        window_seconds=window_seconds,
    )


def verify_signed_headers_by(
    headers: Mapping[str, str],
    body: bytes,
    *,
    key_for: Callable[[str], rsa.RSAPublicKey | None],
    now: int,
    window_seconds: int,
) -> None:
    """Check a response or notification with the key ``Wechatpay-Serial`` names; raise
    ``VerificationFailed`` (``UnknownSerial`` when ``key_for`` knows no such key) unless it is
    WeChat's."""
    signed = SignedHeaders(headers)
    # WeChat probes merchants with deliberately bad signatures; never even try to verify them.
    if signed.signature.startswith(SIGNTEST_PREFIX):
        raise VerificationFailed("signature probe (WECHATPAY/SIGNTEST/)")
    if not (signed.timestamp and signed.nonce and signed.signature and signed.serial):
        raise VerificationFailed("missing Wechatpay-Timestamp/Nonce/Signature/Serial header")
    if not (signed.timestamp.isascii() and signed.timestamp.isdigit()):
        raise VerificationFailed("Wechatpay-Timestamp is not a number of seconds")
    if abs(now - int(signed.timestamp)) >= window_seconds:
        raise VerificationFailed(f"Wechatpay-Timestamp {signed.timestamp} outside the window")
    public_key = key_for(signed.serial)
    if public_key is None:
        raise UnknownSerial(f"unknown Wechatpay-Serial {signed.serial[:64]!r}")
    message = response_message(signed.timestamp, signed.nonce, body)
    if not verify(public_key, message, signed.signature):
        raise VerificationFailed("Wechatpay-Signature does not verify")
