"""Random but well-formed WeChat identifiers."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta, timezone

__all__ = [
    "CHINA",
    "new_event_id",
    "new_prepay_id",
    "new_refund_id",
    "new_request_id",
    "new_transaction_id",
    "rfc3339",
]

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def _digits(count: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def rfc3339(timestamp: float) -> str:
    """``2024-05-01T12:00:00+08:00``: WeChat renders every time in China time, to the second."""
    return datetime.fromtimestamp(timestamp, CHINA).isoformat(timespec="seconds")


def new_prepay_id(now: float) -> str:
    """``wx`` + yyyyMMddHHmmss + 20 hex characters (36 in all, like the documented example)."""
    return (
        "wx" + datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)
    )


def new_transaction_id(now: float) -> str:
    """28 digits: ``4200`` + 6 digits + yyyyMMdd + 10 digits."""
    day = datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d")
    return "4200" + _digits(6) + day + _digits(10)


def new_refund_id(now: float) -> str:
    """29 digits: ``5030`` + 7 digits + yyyyMMdd + 10 digits."""
    day = datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d")
    return "5030" + _digits(7) + day + _digits(10)


def new_event_id() -> str:
    """``EV-`` + 32 hex characters (35 ≤ 36)."""
    return "EV-" + uuid.uuid4().hex


def new_request_id(internal_code: int) -> str:
    """``<hex>-<internal code>``: clients read the numeric suffix as WeChat's internal error."""
    return f"{secrets.token_hex(19).upper()}-{internal_code}"
