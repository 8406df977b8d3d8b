"""Fubei MD5 request signing (reference sections 2 and 11.3).

``sign = UPPER(MD5_utf8("k1=v1&k2=v2&...&kn=vn" + secret))`` over every received top-level
parameter except ``sign``, keys in byte order, values verbatim (``biz_content`` is the exact string
received, never re-serialised). Clients disagree on whether empty values take part, so a verifier
accepts either variant.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["base_string", "sign", "verify"]


def base_string(params: Mapping[str, str | None], *, skip_empty: bool) -> str:
    items = sorted(
        (key, value or "")
        for key, value in params.items()
        if key != "sign" and not (skip_empty and not value)
    )
    return "&".join(f"{key}={value}" for key, value in items)


def sign(params: Mapping[str, str | None], secret: str, *, skip_empty: bool = False) -> str:
    text = base_string(params, skip_empty=skip_empty) + secret
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def verify(params: Mapping[str, str | None], secret: str, received: str) -> bool:
    """Constant-time check of ``received`` against both empty-value variants."""
    if len(received) != 32 or not received.isascii():
        return False
    candidate = received.upper().encode("ascii")
    full = sign(params, secret, skip_empty=False).encode("ascii")
    ok = hmac.compare_digest(full, candidate)
    if any(not value for key, value in params.items() if key != "sign"):
        skipped = sign(params, secret, skip_empty=True).encode("ascii")
        ok = hmac.compare_digest(skipped, candidate) or ok
    return ok
