"""JSON in and out of the wire without ever turning an amount into a float.

Decoding keeps numbers exact (``Decimal``), refuses duplicate keys (two parsers could otherwise read
different values from one signed body) and survives hostile nesting. Encoding writes ``Decimal``
as a JSON number in its exact text, and refuses a float.

Encoding is done by orjson where it is installed (``jubao[server]``; the SDK alone does without
it): each ``Decimal`` becomes a ``Fragment`` of its exact text. orjson took a query's answer from
20 to 4 us (docs/benchmarks.md, round six). Whatever it is not sure to write exactly as the
Python writer (``_write``) does, it leaves to it: a float (refused there), a key that is not a
``str``, an enum, a string holding a lone surrogate, an integer beyond 64 bits.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

try:
    import orjson

    _ORJSON = True
except ImportError:  # the SDK installed without jubao[server]: the Python writer alone
    _ORJSON = False

__all__ = [
    "JsonError",
    "dumpb",
    "dumps",
    "is_utf8",
    "loads",
    "plain_loads",
    "preview",
]

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
    if text.isascii():  # the usual text, without encoding it
        return True
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


# One decoder for every call: ``json.loads`` with hooks builds a new one each time.
_decoder = json.JSONDecoder(
    parse_float=_decimal, parse_constant=_reject_constant, object_pairs_hook=_pairs
)


def loads(text: str | bytes) -> Any:
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):  # json.loads refuses a BOM
            value = _decoder.decode(text)
        else:
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


_CONTAINERS = (dict, list)


def _depth(value: Any, level: int = 0) -> int:
    """How many containers deep ``value`` goes (a scalar: ``level``); stops past the limit."""
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return level
    deepest = level + 1
    if deepest > _MAX_DEPTH:
        return deepest
    for item in items:
        if isinstance(item, _CONTAINERS):  # a scalar is no deeper than its container
            found = _depth(item, level + 1)
            if found > deepest:
                deepest = found
                if deepest > _MAX_DEPTH:
                    return deepest
    return deepest


def plain_loads(data: str | bytes) -> Any:
    """``json.loads``, for JSON that jubao wrote itself (stored payment instructions: objects of
    strings): no ``Decimal``, no duplicate-key guard, none of it being caller input. orjson reads
    it where installed, 8x faster (docs/benchmarks.md, round eight); what orjson refuses and the
    json module reads (an escaped lone surrogate, NaN) is read by the json module. Not for
    integers beyond 64 bits, which orjson reads as floats."""
    if _ORJSON:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # read again below: the json module's value, or its error
    return json.loads(data)


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
    encoded = _fast(value)
    if encoded is not None:
        return encoded.decode("utf-8")
    return _slow(value)


def dumpb(value: Any) -> bytes:
    """``dumps(value)`` as UTF-8."""
    encoded = _fast(value)
    if encoded is not None:
        return encoded
    return _slow(value).encode("utf-8")


def _slow(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _fragment(value: Any) -> Any:
    """orjson's hook for what it does not know: ``_plain`` has let through only ``Decimal``."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError("non-finite Decimal")  # orjson raises; _write then says it


def _fast(value: Any) -> bytes | None:
    """``value`` through orjson, or None where only ``_write`` is sure to be right: a value of a
    type outside ``_plain``'s (a float is refused there), a string holding a lone surrogate, an
    integer beyond 64 bits, a non-finite ``Decimal``."""
    if not _ORJSON or not _plain(value):
        return None
    try:
        return orjson.dumps(value, default=_fragment)
    except TypeError:  # orjson.JSONEncodeError
        return None


_SCALARS = frozenset({str, int, bool, type(None), Decimal})
_NESTS = frozenset({dict, list, tuple})


def _plain(value: Any) -> bool:
    """Only ``str``-keyed dicts, lists, tuples and the exact types of ``_SCALARS``: what orjson
    writes as ``_write`` does. A float (which orjson would write) is not among them, nor an enum
    or a subclass (``_write`` writes them by what they subclass)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind in _SCALARS:
                continue
            if kind not in _NESTS or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _SCALARS or _plain(item) for item in value)
    return kind in _SCALARS


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
