"""Typed readers for fields of a response's ``data`` object.

A reader raises ``ShapeError`` when a field is missing or has the wrong type; the core turns that
into ``InvalidResponse``. Fields the SDK does not know are ignored, so a gateway that adds fields
never breaks an installed SDK. Amounts arrive as exact JSON numbers (decoded as ``Decimal``, never
``float``) or numeric text, and come out as ``Decimal`` yuan with two places.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

__all__ = [
    "CHINA_TIME",
    "ShapeError",
    "amount",
    "choice",
    "compact_time",
    "flag",
    "integer",
    "mapping",
    "optional_amount",
    "optional_choice",
    "text",
]

E = TypeVar("E", bound=StrEnum)
CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")  # Fubei's wall-clock times

_MISSING = object()


class ShapeError(ValueError):
    """A field of a response is missing or malformed."""


def _get(data: Mapping[str, Any], name: str, default: object) -> object:
    value = data.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise ShapeError(f"missing field {name!r}")
        return default
    return value


def text(data: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """A string field; numbers are accepted as their digits (clients disagree on ids)."""
    value = _get(data, name, _MISSING if default is None else default)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ShapeError(f"field {name!r} should be text, got {type(value).__name__}")
    return str(value)


def integer(data: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = _get(data, name, _MISSING if default is None else default)
    if isinstance(value, bool):
        raise ShapeError(f"field {name!r} should be an integer")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if not isinstance(value, int):
        raise ShapeError(f"field {name!r} should be an integer, got {value!r}")
    return value


def amount(data: Mapping[str, Any], name: str) -> Decimal:
    """A yuan amount, exactly, as ``Decimal`` with two places."""
    return _yuan(name, _get(data, name, _MISSING))


def optional_amount(data: Mapping[str, Any], name: str) -> Decimal | None:
    value = _get(data, name, None)
    return None if value is None else _yuan(name, value)


def mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = _get(data, name, _MISSING)
    if not isinstance(value, Mapping):
        raise ShapeError(f"field {name!r} should be an object, got {type(value).__name__}")
    return value


def _yuan(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ShapeError(f"field {name!r} should be an amount, got {type(value).__name__}")
    try:
        exact = Decimal(value)
    except InvalidOperation as exc:
        raise ShapeError(f"field {name!r} is not an amount: {value!r}") from exc
    if not exact.is_finite():
        raise ShapeError(f"field {name!r} is not a finite amount")
    fen = exact.scaleb(2)
    if fen != fen.to_integral_value():
        raise ShapeError(f"field {name!r} is not a whole number of fen: {value!r}")
    return Decimal(int(fen)).scaleb(-2)


def choice(data: Mapping[str, Any], name: str, kind: type[E]) -> E:
    """A field whose text is one of the members of ``kind``."""
    value = text(data, name)
    try:
        return kind(value)
    except ValueError:
        raise ShapeError(f"field {name!r} has an unknown value {value!r}") from None


def optional_choice(data: Mapping[str, Any], name: str, kind: type[E]) -> E | None:
    """As ``choice``; missing, null or empty text is ``None``."""
    return choice(data, name, kind) if text(data, name, "") else None


def compact_time(data: Mapping[str, Any], name: str) -> datetime | None:
    """``yyyyMMddHHmmss`` (text or number) in China time, as an aware datetime; missing, null or
    empty is ``None`` (not finished yet)."""
    value = text(data, name, "")
    if not value:
        return None
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        raise ShapeError(f"field {name!r} should be yyyyMMddHHmmss, got {value!r}")
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=CHINA_TIME)
    except ValueError:
        raise ShapeError(f"field {name!r} is not a valid time: {value!r}") from None


def flag(data: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """``1``/``0`` (number or text) or a JSON boolean."""
    value = _get(data, name, default)
    if isinstance(value, bool):
        return value
    if value in (1, "1"):
        return True
    if value in (0, "0"):
        return False
    raise ShapeError(f"field {name!r} should be 1 or 0, got {value!r}")
