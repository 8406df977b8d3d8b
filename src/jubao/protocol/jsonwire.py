"""JSON in and out of the wire without ever turning an amount into a float.

Decoding keeps numbers exact (``Decimal``), refuses duplicate keys (two parsers could otherwise read
different values from one signed body) and survives hostile nesting. Encoding writes ``Decimal``
as a JSON number in its exact text, and refuses a float.

Encoding is done by the standard library's C encoder (a tenth of the CPU of an ``order.query``
went to encoding it in Python): each ``Decimal`` is handed to it as a marker string it cannot
otherwise produce, then the markers are replaced by the exact numbers. Whatever the fast path is
not sure to write exactly as the Python writer (``_write``) does, it leaves to it: a key that is
not a ``str``, a string holding a lone surrogate.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

__all__ = ["JsonError", "dumpb", "dumps", "is_utf8", "loads", "preview"]

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
    text = _fast(value)
    if text is not None and is_utf8(text):
        return text
    return _slow(value)


def dumpb(value: Any) -> bytes:
    """``dumps(value)`` as UTF-8."""
    text = _fast(value)
    if text is not None:
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the Python writer escapes its string
            pass
    return _slow(value).encode("utf-8")


def _slow(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


# A lone low surrogate: the C encoder (ensure_ascii off) writes it raw, and no string it writes
# raw can be an answer (it cannot be UTF-8 encoded), so a marker is never mistaken for text.
_MARK = "\udc80"
_QUOTED_MARK = f'"{_MARK}"'
_Encoder = Callable[[Any, int], Iterator[str]]
_make_encoder: Callable[..., _Encoder] | None = getattr(json.encoder, "c_make_encoder", None)
_encode_basestring = json.encoder.encode_basestring  # the C one when the module is built
_SCALARS = frozenset({str, int, bool, type(None)})


def _marker(value: Any) -> str:
    """What the C encoder writes for a value it does not know: ``_plain`` has checked that it
    can only be a finite ``Decimal``, noted in order."""
    if isinstance(value, Decimal):
        return _MARK
    _default(value)
    raise AssertionError  # unreachable: _default raises


# Built once: without a markers dict (no cycle check: answers are trees) it keeps no state
# between calls.
_c_encode = (
    _make_encoder(None, _marker, _encode_basestring, None, ":", ",", False, False, False)
    if _make_encoder is not None
    else None
)


def _fast(value: Any) -> str | None:
    """``value`` through the C encoder, or None where only ``_write`` is sure to be exact."""
    if _c_encode is None:
        return None
    found: list[Decimal] = []
    if not _plain(value, found):
        return None
    text = "".join(_c_encode(value, 0))
    if not found:
        return text
    pieces = text.split(_QUOTED_MARK)
    if len(pieces) != len(found) + 1:
        return None  # a caller's string was the marker itself: let _write say it
    out = [pieces[0]]
    for number, after in zip(found, pieces[1:], strict=True):
        out.append(format(number, "f"))
        out.append(after)
    return "".join(out)


def _plain(value: Any, found: list[Decimal]) -> bool:
    """Notes each ``Decimal`` in the order the encoder meets it; False if a key is not a ``str``
    (``_write`` writes ``str(key)``, the C encoder does not always); a float or a non-finite
    ``Decimal`` is refused, as ``_write`` refuses it."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind in _SCALARS:
                continue
            if kind is Decimal:  # the usual amount, without a call
                if not item.is_finite():
                    raise TypeError("non-finite Decimal")
                found.append(item)
            elif not _plain(item, found):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(type(item) in _SCALARS or _plain(item, found) for item in value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("non-finite Decimal")
        found.append(value)
    elif isinstance(value, float):
        _default(value)
    return True


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
