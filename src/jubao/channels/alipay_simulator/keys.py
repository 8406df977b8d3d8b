"""RSA keys: loading Alipay-style key text, and a fresh key set for a sandbox."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.private_keys import load_proven

__all__ = ["AlipaySandboxKeys", "generate_sandbox_keys", "private_key", "public_key", "public_text"]


def _der(text: str) -> bytes:
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    return base64.b64decode("".join(body.split()), validate=True)


def private_key(text: str) -> rsa.RSAPrivateKey:
    key = load_proven(_der(text), der=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def public_key(text: str) -> rsa.RSAPublicKey:
    key = serialization.load_der_public_key(_der(text))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def public_text(key: rsa.RSAPrivateKey) -> str:
    """The bare base64 SubjectPublicKeyInfo (``MIIBIjAN…``) Alipay's portal shows."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def _private_pem(key: rsa.RSAPrivateKey, form: serialization.PrivateFormat) -> str:
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode(
        "ascii"
    )


@dataclass(frozen=True)
class AlipaySandboxKeys:
    """Two key pairs: the ISV app's (it signs requests) and "Alipay's" (the simulator's).
    Private keys are PKCS#1 PEM, which every Alipay SDK reads; public keys bare base64."""

    app_private_key: str = field(repr=False)
    app_public_key: str
    alipay_private_key: str = field(repr=False)
    alipay_public_key: str


def generate_sandbox_keys() -> AlipaySandboxKeys:
    app = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alipay = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = serialization.PrivateFormat.TraditionalOpenSSL
    return AlipaySandboxKeys(
        app_private_key=_private_pem(app, pkcs1),
        app_public_key=public_text(app),
        alipay_private_key=_private_pem(alipay, pkcs1),
        alipay_public_key=public_text(alipay),
    )
