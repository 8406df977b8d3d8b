"""The order and refund state machines. Pure: the allowed transitions are declared here; storage
applies each as a compare-and-set (``UPDATE ... WHERE state = <expected>``).

    USERPAYING ──pay──▶ SUCCESS
        │                  ▲
      close/expire         │ pay (the payer's money was taken after all: never stays closed)
        ▼                  │
      CLOSED ──────────────┘

    Payment codes (scene barcode) can also be reversed (撤销), paid or not:

    USERPAYING / SUCCESS ──reverse──▶ REVOKING ──channel done──▶ REVOKED
                                         │  ▲
                        channel refused  ▼  │ reverse again
                                      REVOKED_ERROR
    (REVOKING and REVOKED_ERROR may still learn that the payer paid: ──pay──▶ SUCCESS)

    Refund:  PROCESSING ──▶ SUCCESS
                  └───────▶ FAILED   (the reserved amount returns to the order)
"""

from __future__ import annotations

import enum

__all__ = [
    "OrderState",
    "PaymentOutcome",
    "RefundReservation",
    "RefundSettlement",
    "RefundState",
    "can_transition",
]


class OrderState(enum.StrEnum):
    USERPAYING = "USERPAYING"  # created, waiting for the payer
    SUCCESS = "SUCCESS"  # paid
    CLOSED = "CLOSED"  # closed by the merchant, expired or declined unpaid
    REVOKING = "REVOKING"  # a reverse was asked of the channel; its answer is not in yet
    REVOKED = "REVOKED"  # reversed: closed if unpaid, the payment returned if paid
    REVOKED_ERROR = "REVOKED_ERROR"  # the channel refused the reverse


class RefundState(enum.StrEnum):
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"

    @property
    def wire(self) -> str:
        """Fubei 1.0 spelling (reference 7.1, including its ``REFUND_FAILER``)."""
        return {
            RefundState.PROCESSING: "REFUND_PROCESSING",
            RefundState.SUCCESS: "REFUND_SUCCESS",
            RefundState.FAILED: "REFUND_FAILER",
        }[self]


class PaymentOutcome(enum.StrEnum):
    """What recording a channel's "paid" did."""

    PAID = "paid"  # the order moved to SUCCESS now (and the merchant notification was queued)
    DUPLICATE = "duplicate"  # it was paid already: nothing changed
    UNKNOWN = "unknown"  # no such order
    AMOUNT_MISMATCH = "amount_mismatch"  # the channel's amount is missing or differs: refused
    MERCHANT_MISMATCH = "merchant_mismatch"  # another sub-merchant's trade: refused


class RefundReservation(enum.StrEnum):
    """What reserving an amount of a paid order for a refund did."""

    RESERVED = "reserved"
    EXISTING = "existing"  # a refund with this merchant_refund_sn exists: answer with it
    NOT_PAID = "not_paid"
    NOTHING_LEFT = "nothing_left"
    EXCEEDS = "exceeds"
    TOO_MANY = "too_many"


class RefundSettlement(enum.StrEnum):
    """What recording a channel's refund result did."""

    SETTLED = "settled"  # PROCESSING -> SUCCESS/FAILED now
    UNCHANGED = "unchanged"  # settled already, or the channel still says processing
    UNKNOWN = "unknown"  # no such refund
    MISMATCH = "mismatch"  # the report names another order or amount: refused


_ORDER_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.USERPAYING: frozenset({OrderState.SUCCESS, OrderState.CLOSED, OrderState.REVOKING}),
    OrderState.CLOSED: frozenset({OrderState.SUCCESS}),
    OrderState.SUCCESS: frozenset({OrderState.REVOKING}),
    OrderState.REVOKING: frozenset(
        {OrderState.REVOKED, OrderState.REVOKED_ERROR, OrderState.SUCCESS}
    ),
    OrderState.REVOKED_ERROR: frozenset({OrderState.REVOKING, OrderState.SUCCESS}),
    OrderState.REVOKED: frozenset(),
}


def can_transition(current: OrderState, target: OrderState) -> bool:
    return target in _ORDER_TRANSITIONS[current]
