"""RSA keys as Alipay's portal hands them out: PEM or bare base64, PKCS#1 or PKCS#8 private keys,
SubjectPublicKeyInfo public keys. Normalised once by ``cryptography``."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.private_keys import load_proven

__all__ = ["load_private_key", "load_public_key"]


def _der(text: str) -> bytes:
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("key is neither PEM nor base64") from exc


def load_private_key(text: str | bytes) -> rsa.RSAPrivateKey:
    """The app's private key; PKCS#8 (Java tools) and PKCS#1 (the Python SDK) both work."""
    raw = _der(text.decode("ascii") if isinstance(text, bytes) else text)
    try:
        key = load_proven(raw, der=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("private key is not an unencrypted RSA key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private key must be RSA")
    return key


def load_public_key(text: str | bytes) -> rsa.RSAPublicKey:
    """Alipay's public key (``MIIBIjAN…``), PEM or bare base64."""
    raw = _der(text.decode("ascii") if isinstance(text, bytes) else text)
    try:
        key = serialization.load_der_public_key(raw)
    except ValueError as exc:
        raise ValueError("public key is not an RSA SubjectPublicKeyInfo") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("public key must be RSA")
    return key
