"""Yuan text on the wire, integer fen inside: exact both ways, never through float."""

from __future__ import annotations

import re

__all__ = ["fen_to_yuan", "yuan_to_fen"]

_YUAN = re.compile(r"(-?)([0-9]{1,10})(?:\.([0-9]{1,2}))?")


def fen_to_yuan(fen: int) -> str:
    """``1`` -> ``"0.01"``; Alipay takes two decimals in [0.01, 100000000]."""
    if fen <= 0:
        raise ValueError(f"amount must be positive, got {fen} fen")
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: object, *, signed: bool = False) -> int:
    """An amount from Alipay (``"88.88"``); anything else raises ``ValueError``. ``signed``
    admits a leading minus (statement refund rows)."""
    if not isinstance(text, str):
        raise ValueError(f"amount {text!r} is not a string")
    match = _YUAN.fullmatch(text.strip())
    if match is None or (match.group(1) and not signed):
        raise ValueError(f"malformed amount {text[:24]!r}")
    minus, whole, decimals = match.groups()
    fen = int(whole) * 100 + int((decimals or "").ljust(2, "0"))
    return -fen if minus else fen
