"""The simulated payers. A payment code (付款码) is 16-24 digits starting 25-30; its last four
digits decide who holds it:

    1111  must type a password: 10003 now, paid after ``password_delay_seconds``
    2222  balance too low: ACQ.BUYER_BALANCE_NOT_ENOUGH, no trade
    3333  an invalid or expired code: ACQ.PAYMENT_AUTH_CODE_INVALID
    4444  types no password, ever: 10003, the trade waits until it expires or is cancelled
    else  pays at once
"""

from __future__ import annotations

import enum
import hashlib
import re

__all__ = ["AUTH_CODE", "Buyer", "PayerKind", "buyer_for", "payer_kind"]

AUTH_CODE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")


class PayerKind(enum.Enum):
    IMMEDIATE = "immediate"
    PASSWORD = "password"  # noqa: S105 (a kind of payer, not a secret)
    INSUFFICIENT = "insufficient"
    INVALID = "invalid"
    NEVER = "never"


_BY_SUFFIX = {
    "1111": PayerKind.PASSWORD,
    "2222": PayerKind.INSUFFICIENT,
    "3333": PayerKind.INVALID,
    "4444": PayerKind.NEVER,
}


def payer_kind(auth_code: str) -> PayerKind:
    """``INVALID`` for anything that is not an Alipay payment code at all."""
    if not AUTH_CODE.fullmatch(auth_code):
        return PayerKind.INVALID
    return _BY_SUFFIX.get(auth_code[-4:], PayerKind.IMMEDIATE)


class Buyer:
    """An Alipay account: ``user_id`` 2088 + 12 digits, a masked logon id."""

    def __init__(self, user_id: str, logon_id: str) -> None:
        self.user_id = user_id
        self.logon_id = logon_id


def buyer_for(seed: str) -> Buyer:
    """The same seed (a payment code's account part, a test buyer's name) is the same buyer."""
    if re.fullmatch(r"2088[0-9]{12}", seed):
        digits = seed[4:]
    else:
        digest = hashlib.sha256(seed.encode()).hexdigest()
        digits = str(int(digest[:15], 16))[-12:].rjust(12, "0")
    return Buyer("2088" + digits, f"159****{digits[-4:]}")
