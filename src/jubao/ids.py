"""Identifiers in Fubei's shapes: ``yyyyMMddHHmmss`` + 6 digits for order, refund and app ids.

A per-process counter starting at a random point makes collisions within one process impossible
for up to a million ids a second; across processes a collision is caught by the unique constraint
and the caller draws again.
"""

from __future__ import annotations

import itertools
import secrets
import threading

from jubao.clock import china_text

__all__ = ["new_app_id", "new_app_secret", "new_serial", "new_vendor_sn"]

_counter = itertools.count(secrets.randbelow(1_000_000))
_lock = threading.Lock()


def new_serial(now_ms: int) -> str:
    with _lock:
        sequence = next(_counter) % 1_000_000
    return china_text(now_ms // 1000, "%Y%m%d%H%M%S") + f"{sequence:06d}"


def new_app_id(now_ms: int) -> str:
    return china_text(now_ms // 1000, "%Y%m%d%H%M%S") + f"{secrets.randbelow(10**6):06d}"


def new_app_secret() -> str:
    return secrets.token_hex(16)


def new_vendor_sn(now_ms: int) -> str:
    """A vendor's id in Fubei's shape (``2018113015321682303a``): time, five digits, a letter."""
    letter = "abcdefghijklmnopqrstuvwxyz"[secrets.randbelow(26)]
    stamp = china_text(now_ms // 1000, "%Y%m%d%H%M%S")
    return f"{stamp}{secrets.randbelow(10**5):05d}{letter}"
