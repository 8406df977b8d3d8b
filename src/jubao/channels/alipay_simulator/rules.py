"""Reading ``biz_content``: the checks Alipay makes before any business logic. Every failure is
``ACQ.INVALID_PARAMETER`` naming the field."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from jubao.channels.alipay_simulator.errors import GatewayError, invalid_parameter

__all__ = [
    "CHINA",
    "amount_fen",
    "china_text",
    "expiry",
    "optional_text",
    "parse_biz",
    "required_text",
    "yuan",
]

CHINA = timezone(timedelta(hours=8))
MAX_FEN = 100_000_000 * 100
DEFAULT_TIMEOUT_SECONDS = 3 * 3600  # face-to-face default
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
_OUT_NO = re.compile(r"[0-9A-Za-z_\-]{1,64}")
_TIMEOUT = re.compile(r"([0-9]{1,5})([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_biz(text: str) -> dict[str, Any]:
    """Numbers are kept exact (``Decimal``): ``88.88`` sent as a JSON number is still 8888 fen."""
    try:
        value = json.loads(text or "{}", parse_float=Decimal)
    except ValueError:
        raise GatewayError(
            "40002", "isv.invalid-parameter", "biz_content 不是合法的 JSON"
        ) from None
    if not isinstance(value, dict):
        raise GatewayError("40002", "isv.invalid-parameter", "biz_content 必须是 JSON 对象")
    return value


def required_text(biz: dict[str, Any], name: str, max_length: int = 256) -> str:
    value = optional_text(biz, name, max_length)
    if not value:
        raise invalid_parameter(f"{name} 不能为空")
    return value


def optional_text(biz: dict[str, Any], name: str, max_length: int = 256) -> str:
    value = biz.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_parameter(f"{name} 必须是字符串")
    if len(value) > max_length:
        raise invalid_parameter(f"{name} 超过 {max_length} 个字符")
    return value


def out_no(biz: dict[str, Any], name: str) -> str:
    value = required_text(biz, name, 64)
    if not _OUT_NO.fullmatch(value):
        raise invalid_parameter(f"{name} 只能包含字母、数字和下划线")
    return value


def amount_fen(biz: dict[str, Any], name: str) -> int:
    raw = biz.get(name)
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise invalid_parameter(f"{name} 必须是金额")
    if isinstance(raw, str) and not _AMOUNT.fullmatch(raw.strip()):
        raise invalid_parameter(f"{name} 不是合法的金额")
    try:
        amount = Decimal(raw) if not isinstance(raw, str) else Decimal(raw.strip())
    except InvalidOperation:
        raise invalid_parameter(f"{name} 不是合法的金额") from None
    fen = amount * 100
    if not fen.is_finite() or fen != fen.to_integral_value():
        raise invalid_parameter(f"{name} 最多两位小数")
    if fen <= 0 or fen > MAX_FEN:
        raise invalid_parameter(f"{name} 必须在 0.01 与 100000000 之间")
    return int(fen)


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def china_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA).strftime("%Y-%m-%d %H:%M:%S")


def expiry(biz: dict[str, Any], now: float, cap_seconds: float | None = None) -> float:
    """``time_expire`` (China time) wins over ``timeout_express`` (``90m``, ``2h``, ``1d``,
    ``1c`` = end of today); default three hours."""
    deadline = now + DEFAULT_TIMEOUT_SECONDS
    time_expire = optional_text(biz, "time_expire", 32)
    timeout = optional_text(biz, "timeout_express", 8)
    if time_expire:
        try:
            moment = datetime.strptime(time_expire, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
        except ValueError:
            raise invalid_parameter("time_expire 格式应为 yyyy-MM-dd HH:mm:ss") from None
        deadline = moment.timestamp()
        if deadline <= now:
            raise invalid_parameter("time_expire 已过期")
    elif timeout == "1c":
        today = datetime.fromtimestamp(now, CHINA).date()
        midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), CHINA)
        deadline = midnight.timestamp()
    elif timeout:
        match = _TIMEOUT.fullmatch(timeout)
        if match is None or int(match.group(1)) == 0:
            raise invalid_parameter("timeout_express 取值范围 1m～15d")
        deadline = now + int(match.group(1)) * _UNITS[match.group(2)]
    if cap_seconds is not None:
        deadline = min(deadline, now + cap_seconds)
    return float(deadline)
