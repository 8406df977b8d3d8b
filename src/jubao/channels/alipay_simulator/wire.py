"""Alipay's wire rules as the gateway applies them: the request sign string, RSA2, and answers
written as ``{"<key>":{…},"sign":"…"}`` with the signature over the inner text as sent."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["compact", "render_answer", "rsa2_sign", "rsa2_verify", "sign_string"]


def sign_string(params: Mapping[str, str], without: Iterable[str]) -> str:
    """Sorted ``k=v`` pairs joined by ``&``; empty values and the ``without`` keys left out."""
    skip = frozenset(without)
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in skip and params[k])


def rsa2_sign(key: rsa.RSAPrivateKey, text: str, encoding: str = "utf-8") -> str:
    signature = key.sign(text.encode(encoding), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(key: rsa.RSAPublicKey, text: str, signature: str, encoding: str = "utf-8") -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, text.encode(encoding), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def compact(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def render_answer(
    key: str,
    payload: Mapping[str, Any],
    signer: rsa.RSAPrivateKey | None,
    encoding: str = "utf-8",
) -> bytes:
    """The object first, ``sign`` after: every SDK's extractor relies on that order. Written
    and signed in the caller's charset."""
    inner = compact(payload)
    if signer is None:
        return f'{{"{key}":{inner}}}'.encode(encoding, "replace")
    signature = rsa2_sign(signer, inner, encoding)
    return f'{{"{key}":{inner},"sign":"{signature}"}}'.encode(encoding)
