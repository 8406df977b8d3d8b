"""Identifiers a merchant chooses (merchant_order_sn, merchant_refund_sn, sub_openid) are stored,
shown in the console and sent on in notifications: they must read the same to every eye and
every parser. Control characters (C0, DEL, C1), format characters (bidirectional overrides such
as U+202E, isolates, zero-width characters, the BOM) and line/paragraph separators are refused."""

from __future__ import annotations

import unicodedata

from jubao.errors import InvalidParameter

__all__ = ["refuse_unsafe_identifier", "unsafe_character"]

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def unsafe_character(value: str) -> str | None:
    """The first control, format or separator character in ``value``, if any."""
    if value.isascii() and value.isprintable():  # the usual identifier: ASCII has no Cf, Zl, Zp
        return None
    for char in value:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            return char
    return None


def refuse_unsafe_identifier(name: str, value: str) -> None:
    char = unsafe_character(value)
    if char is not None:
        raise InvalidParameter(f"参数 {name} 含有不允许的控制字符或方向控制字符 U+{ord(char):04X}")
