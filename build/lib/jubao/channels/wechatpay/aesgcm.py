"""AEAD_AES_256_GCM decryption of notification resources (and of ``/v3/certificates``)."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["ALGORITHM", "DecryptionFailed", "decrypt"]

ALGORITHM = "AEAD_AES_256_GCM"
_TAG_BYTES = 16


class DecryptionFailed(ValueError):
    """The resource cannot be decrypted; the text says why (for logs)."""


def decrypt(key: bytes, nonce: str, associated_data: str, ciphertext_b64: str) -> bytes:
    """Decrypt ``base64(ciphertext || tag)`` with the APIv3 key. The nonce and AAD are used as
    their UTF-8 bytes, exactly as WeChat sends them (the nonce is 12 characters)."""
    try:
        sealed = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("resource.ciphertext is not base64") from None
    if len(sealed) < _TAG_BYTES:
        raise DecryptionFailed("resource.ciphertext is shorter than the GCM tag")
    nonce_bytes = nonce.encode()
    if not nonce_bytes:
        raise DecryptionFailed("resource.nonce is empty")
    try:
        return AESGCM(key).decrypt(nonce_bytes, sealed, associated_data.encode())
    except InvalidTag:
        # Almost always a wrong APIv3 key (or a resource altered in transit).
        raise DecryptionFailed("GCM tag mismatch: wrong APIv3 key or tampered resource") from None
    except ValueError as exc:  # e.g. a nonce length AESGCM refuses
        raise DecryptionFailed(f"cannot decrypt resource: {exc}") from None
