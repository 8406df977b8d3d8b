"""Amounts in requests: exact yuan (``Decimal`` or text) or integer fen, never ``float``.

The Open API carries yuan with two decimals (``"total_fee": 0.01``). A request model takes either
the yuan field (``total_fee=Decimal("0.01")`` or ``total_fee="0.01"``) or the explicit fen field
(``total_fen=1``), never both. ``float`` and ``bool`` are refused with ``TypeError``; a bare ``int``
in a yuan field is refused too, because ``total_fee=100`` reads as yuan to one person and as fen to
the next: write ``Decimal(100)`` or ``total_fen=10000``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from jubao.money import MAX_FEN, Fen, fen_to_yuan

__all__ = ["YuanInput", "fen_from_input", "yuan_for_wire"]

YuanInput = Decimal | str
_PLAIN_YUAN = re.compile(r"\d+(\.\d{1,2})?")


def fen_from_input(
    yuan: YuanInput | None, fen: int | None, *, yuan_field: str, fen_field: str
) -> Fen | None:
    """The amount in fen from exactly one of a yuan field and its fen twin (``None``: neither)."""
    if yuan is not None and fen is not None:
        raise ValueError(f"give {yuan_field} (yuan) or {fen_field} (fen), not both")
    if fen is not None:
        return _checked_fen(fen, fen_field)
    if yuan is None:
        return None
    return _checked_fen(_yuan_to_fen(yuan, yuan_field, fen_field), yuan_field)


def yuan_for_wire(fen: int) -> Decimal:
    """The exact JSON number for ``fen``: 1 -> 0.01, 100 -> 1.00."""
    return fen_to_yuan(fen)


def _yuan_to_fen(value: object, field: str, fen_field: str) -> int:
    if isinstance(value, float):
        raise TypeError(
            f"{field} must not be a float (binary floats cannot hold 0.01 exactly): "
            f'pass Decimal("0.01"), the text "0.01", or integer fen as {fen_field}='
        )
    if isinstance(value, bool):
        raise TypeError(f"{field} must be Decimal or str, not bool")
    if isinstance(value, int):
        raise TypeError(
            f"{field} takes yuan as Decimal or str; a bare int is ambiguous (yuan or fen?): "
            f"pass Decimal({value!r}) for yuan or {fen_field}={value!r} for fen"
        )
    if isinstance(value, str):
        text = value.strip()
        if not _PLAIN_YUAN.fullmatch(text):
            raise ValueError(f"{field}={value!r} is not a plain yuan amount like 0.01")
        amount = Decimal(text)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise TypeError(f"{field} must be Decimal or str, not {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError(f"{field}={value!r} is not a finite amount")
    fen = amount.scaleb(2)
    whole = fen.to_integral_value()
    if fen != whole:
        raise ValueError(f"{field}={value!r} has more than two decimals (yuan)")
    return int(whole)


def _checked_fen(fen: object, field: str) -> Fen:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"{field} in fen must be an int, not {type(fen).__name__}")
    if fen <= 0:
        raise ValueError(f"{field} must be greater than 0")
    if fen > MAX_FEN:
        raise ValueError(f"{field} must not exceed {fen_to_yuan(MAX_FEN)} yuan")
    return Fen(fen)
