"""JSON in and out of the wire without ever turning an amount into a float.

Decoding keeps numbers exact (``Decimal``), refuses duplicate keys (two parsers could otherwise read
different values from one signed body) and survives hostile nesting. Encoding writes ``Decimal``
as a JSON number in its exact text.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["JsonError", "dumps", "is_utf8", "loads", "preview"]

_MAX_DEPTH = 32
# Decimal keeps "1e999999999" as three digits and an exponent, but turning it into an int or into
# plain digits (int(), format(..., "f")) costs gigabytes. No amount, id or count comes near this.
_MAX_EXPONENT = 1000


class JsonError(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonError(f"重复的字段 {preview(key)}")
        result[key] = value
    return result


def preview(text: str, limit: int = 32) -> str:
    """Caller-supplied text fit to quote in a message: bounded, and always UTF-8 encodable
    (a lone surrogate such as ``\\ud800`` is shown as its escape)."""
    head = text[:limit]
    if not is_utf8(head):
        head = head.encode("utf-8", "backslashreplace").decode("utf-8")
    return head + ("…" if len(text) > limit else "")


def is_utf8(text: str) -> bool:
    """False for text holding a lone surrogate (decoded from a caller's ``\\ud800`` escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if abs(value.adjusted()) > _MAX_EXPONENT:
        raise JsonError(f"数值超出范围：{preview(text, 16)}")
    return value


def _reject_constant(name: str) -> Any:
    raise JsonError(f"不支持的数值 {name}")


def loads(text: str | bytes) -> Any:
    try:
        value = json.loads(
            text,
            parse_float=_decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_pairs,
        )
    except JsonError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JsonError("JSON 格式错误") from exc
    if _depth(value) > _MAX_DEPTH:
        raise JsonError("JSON 嵌套层级过深")
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _default(value: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_encode_utf8 = json.JSONEncoder(ensure_ascii=False).encode
_encode_ascii = json.JSONEncoder(ensure_ascii=True).encode


def _encode_str(value: str) -> str:
    # Raw UTF-8 where possible; a string holding a lone surrogate (decoded from a caller's
    # "\\ud800" escape) is written with \\u escapes, so an answer can always be encoded.
    return _encode_utf8(value) if is_utf8(value) else _encode_ascii(value)


def dumps(value: Any) -> str:
    """Compact JSON; ``Decimal`` values are written as exact JSON numbers."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None or isinstance(value, bool | int):
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("non-finite Decimal")
        out.append(format(value, "f"))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(_encode_str(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        _default(value)
