"""The sandbox's test payment codes: what the payer does is decided by the last four digits of
any well-formed code, like a card network's test numbers (README, "Sandbox payment codes")."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PayerBehaviour", "behaviour_of"]


class PayerBehaviour(StrEnum):
    PAYS = "pays"
    """Pays at once (200 SUCCESS)."""
    ENTERS_PIN = "enters_pin"
    """Must enter a password: 202 USERPAYING, then paid after ``password_seconds``."""
    NOT_ENOUGH = "not_enough"
    """Declined: 403 NOT_ENOUGH (insufficient balance)."""
    INVALID = "invalid"
    """The code is invalid or expired: 400 AUTH_CODE_INVALID."""
    WALKS_AWAY = "walks_away"
    """202 USERPAYING and never confirms: the gateway's wait runs out and it reverses."""


_BY_LAST_FOUR = {
    "1111": PayerBehaviour.ENTERS_PIN,
    "2222": PayerBehaviour.NOT_ENOUGH,
    "3333": PayerBehaviour.INVALID,
    "4444": PayerBehaviour.WALKS_AWAY,
}


def behaviour_of(auth_code: str) -> PayerBehaviour:
    return _BY_LAST_FOUR.get(auth_code[-4:], PayerBehaviour.PAYS)
