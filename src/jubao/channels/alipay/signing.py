"""Alipay's RSA2 (SHA256withRSA) rules, sans I/O.

* A request is signed over its parameters minus ``sign`` and empty values (``sign_type`` stays),
  sorted by key, joined ``k=v&…`` with the values as sent, never URL-encoded.
* An answer ``{"<method>_response":{…},"sign":"…"}`` is signed over the exact bytes of the inner
  object; ``response_parts`` finds them with a string-aware scan, never by re-serialising.
* A notification is signed like a request but without ``sign`` *and* ``sign_type``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "ResponseShapeError",
    "notification_content",
    "request_content",
    "response_parts",
    "sign",
    "verify",
]


class ResponseShapeError(ValueError):
    """The answer is not the JSON object Alipay sends."""


def _content(params: Mapping[str, str], skip: Iterable[str]) -> str:
    excluded = set(skip)
    kept = sorted((k, v) for k, v in params.items() if k not in excluded and v != "")
    return "&".join(f"{key}={value}" for key, value in kept)


def request_content(params: Mapping[str, str]) -> str:
    return _content(params, ("sign",))


def notification_content(params: Mapping[str, str]) -> str:
    return _content(params, ("sign", "sign_type"))


def sign(key: rsa.RSAPrivateKey, content: str | bytes) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def verify(key: rsa.RSAPublicKey, content: str | bytes, signature: str) -> bool:
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


# ---- the raw shape of an answer ------------------------------------------------------------------

_WHITESPACE = b" \t\r\n"


def _skip_ws(data: bytes, i: int) -> int:
    while i < len(data) and data[i] in _WHITESPACE:
        i += 1
    return i


def _string_end(data: bytes, i: int) -> int:
    """``data[i]`` is a quote; returns the index after the closing quote."""
    i += 1
    while i < len(data):
        byte = data[i]
        if byte == 0x5C:  # backslash: skip the escaped character
            i += 2
            continue
        if byte == 0x22:
            return i + 1
        i += 1
    raise ResponseShapeError("unterminated string")


def _value_end(data: bytes, i: int) -> int:
    if i >= len(data):
        raise ResponseShapeError("value expected")
    first = data[i]
    if first == 0x22:
        return _string_end(data, i)
    if first in b"{[":
        depth = 0
        while i < len(data):
            byte = data[i]
            if byte == 0x22:
                i = _string_end(data, i)
                continue
            if byte in b"{[":
                depth += 1
            elif byte in b"}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ResponseShapeError("unbalanced brackets")
    while i < len(data) and data[i] not in b",}]" and data[i] not in _WHITESPACE:
        i += 1
    return i


def response_parts(body: bytes) -> dict[str, bytes]:
    """The top-level members of an answer, each as the exact bytes it arrived as. UTF-8 makes a
    byte scan safe: no byte of a multi-byte character equals ``{``, ``}``, ``"`` or ``\\``."""
    i = _skip_ws(body, 0)
    if i >= len(body) or body[i] != 0x7B:
        raise ResponseShapeError("answer is not a JSON object")
    parts: dict[str, bytes] = {}
    i = _skip_ws(body, i + 1)
    if i < len(body) and body[i] == 0x7D:
        return parts
    while True:
        if i >= len(body) or body[i] != 0x22:
            raise ResponseShapeError("member name expected")
        end = _string_end(body, i)
        try:
            name = json.loads(body[i:end])
        except ValueError as exc:
            raise ResponseShapeError("bad member name") from exc
        i = _skip_ws(body, end)
        if i >= len(body) or body[i] != 0x3A:
            raise ResponseShapeError("':' expected")
        start = _skip_ws(body, i + 1)
        stop = _value_end(body, start)
        if name in parts:  # a second copy could smuggle unsigned content past the verifier
            raise ResponseShapeError(f"member {name!r} repeated")
        parts[name] = body[start:stop]
        i = _skip_ws(body, stop)
        if i < len(body) and body[i] == 0x2C:
            i = _skip_ws(body, i + 1)
            continue
        if i < len(body) and body[i] == 0x7D and not body[i + 1 :].strip():
            return parts
        raise ResponseShapeError("',' or final '}' expected")
