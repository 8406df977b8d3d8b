"""RSA key helpers: load PEM keys once, and create a service-provider key pair for the sandbox."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.private_keys import load_proven

__all__ = ["generate_sp_credentials", "load_private_key", "load_public_key"]

RSA_KEY_BITS = 2048


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key from PEM, PKCS#8 (``BEGIN PRIVATE KEY``, what the merchant
    portal's ``apiclient_key.pem`` holds) or PKCS#1 (``BEGIN RSA PRIVATE KEY``)."""
    try:
        key = load_proven(pem)
    except (ValueError, TypeError) as exc:
        raise ValueError("private key is not an unencrypted PEM key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private key must be RSA")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from PEM: SubjectPublicKeyInfo (``BEGIN PUBLIC KEY``, the "WeChat Pay
    public key" download), PKCS#1 (``BEGIN RSA PUBLIC KEY``) or an X.509 certificate."""
    key: object
    try:
        if b"BEGIN CERTIFICATE" in pem:
            from cryptography.x509 import load_pem_x509_certificate  # rare: its import is 25 ms

            key = load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ValueError("public key is not a PEM key or certificate") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("public key must be RSA")
    return key


def generate_sp_credentials() -> tuple[bytes, bytes, str]:
    """A fresh service-provider API key pair: ``(private_key_pem PKCS#8, public_key_pem SPKI,
    serial_no)``. The serial imitates a certificate serial (40 upper-case hex digits); without a
    real certificate it is only a name the simulator uses to pick the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem, secrets.token_hex(20).upper()
