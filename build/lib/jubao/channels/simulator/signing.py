"""The simulator's own crypto: RSA PKCS#1 v1.5 SHA-256 signatures and AES-256-GCM resources.

Written independently of ``jubao.channels.wechatpay`` on purpose, so that a mistake in one side
cannot be mirrored by the other and pass unseen."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "SIGNATURE_TYPE",
    "encrypt_resource",
    "lines",
    "load_public_key",
    "random_alnum",
    "sign",
    "verify",
    "wechatpay_headers",
]


def lines(*parts: str | bytes) -> bytes:
    """WeChat's signed messages: every part followed by ``\\n``, including the last."""
    out = bytearray()
    for part in parts:
        out += part.encode("utf-8") if isinstance(part, str) else part
        out += b"\n"
    return bytes(out)


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("expected an RSA public key")
    return key


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


_NONCE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def random_alnum(length: int) -> str:
    return "".join(_NONCE_ALPHABET[b % len(_NONCE_ALPHABET)] for b in os.urandom(length))


def encrypt_resource(apiv3_key: str, plaintext: bytes, associated_data: str) -> dict[str, str]:
    """The ``resource`` of a v3 notification: AES-256-GCM, 12-character nonce used as the IV,
    ciphertext = base64(ct || 16-byte tag) (what ``AESGCM.encrypt`` returns)."""
    nonce = random_alnum(12)
    sealed = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("ascii"), plaintext, associated_data.encode("utf-8")
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
        "associated_data": associated_data,
        "nonce": nonce,
    }


SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


def wechatpay_headers(
    private_key: rsa.RSAPrivateKey, key_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers WeChat signs its answers and notifications with (``ts\\nnonce\\nbody\\n``)."""
    nonce = random_alnum(32)
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign(private_key, lines(str(timestamp), nonce, body)),
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }
