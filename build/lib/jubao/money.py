"""Money is integer fen (分) end to end. Yuan text is parsed exactly, never through float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import NewType

__all__ = ["MAX_FEN", "Fen", "MoneyError", "fen_to_yuan", "fen_to_yuan_text", "parse_yuan"]

Fen = NewType("Fen", int)

# 10,000,000.00 yuan: Fubei 2.0 documents 0.01-10000000 for total_amount; 1.0 allows 10 characters.
MAX_FEN = Fen(1_000_000_000)

# Some SDKs send binary-float artefacts (Java's new BigDecimal(0.1) prints
# 0.1000000000000000055511151231257827021181583404541015625). Anything this close to a whole
# fen is that fen; anything else with more than two decimals is refused.
_ARTEFACT_TOLERANCE_FEN = Decimal("0.0001")  # 1e-6 yuan


class MoneyError(ValueError):
    """An amount that is not a valid yuan value; the message is Chinese and names the problem."""


def parse_yuan(value: object, *, field: str = "金额") -> Fen:
    """Parse a yuan amount given as JSON number (already a Decimal or int) or numeric text."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{field} 必须是数字")
    if isinstance(value, float):  # never reached with parse_float=Decimal; refuse to guess
        raise MoneyError(f"{field} 必须以精确的十进制数传递")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or not _is_plain_decimal(text):
            raise MoneyError(f"{field} 不是有效的金额：{value[:20]!r}")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - guarded by _is_plain_decimal
            raise MoneyError(f"{field} 不是有效的金额") from exc
    else:
        raise MoneyError(f"{field} 必须是数字")
    if not amount.is_finite():
        raise MoneyError(f"{field} 不是有效的金额")
    fen_exact = amount * 100
    fen = fen_exact.to_integral_value(rounding=ROUND_HALF_EVEN)
    if fen != fen_exact and abs(fen_exact - fen) > _ARTEFACT_TOLERANCE_FEN:
        raise MoneyError(f"{field} 最多保留两位小数")
    if fen <= 0:
        raise MoneyError(f"{field} 必须大于 0")
    if fen > MAX_FEN:
        raise MoneyError(f"{field} 不能超过 {fen_to_yuan_text(MAX_FEN)} 元")
    return Fen(int(fen))


def _is_plain_decimal(text: str) -> bool:
    """Digits with at most one dot, optional leading minus; no exponent, no full-width digits."""
    body = text[1:] if text.startswith(("-", "+")) else text
    if not body or body.count(".") > 1:
        return False
    return all(ch in "0123456789." for ch in body) and any(ch.isdigit() for ch in body)


def fen_to_yuan(fen: int) -> Decimal:
    """Exact yuan value of ``fen`` (two decimal places), for JSON output."""
    return Decimal(fen).scaleb(-2)


def fen_to_yuan_text(fen: int) -> str:
    return f"{fen_to_yuan(fen):.2f}"
