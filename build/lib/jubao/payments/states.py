"""The order and refund state machines. Pure: the allowed transitions are declared here; storage
applies each as a compare-and-set (``UPDATE ... WHERE state = <expected>``).

    USERPAYING ──pay──▶ SUCCESS
        │                  ▲
      close/expire         │ pay (the payer's money was taken after all: never stays closed)
        ▼                  │
      CLOSED ──────────────┘

    Refund:  PROCESSING ──▶ SUCCESS
                  └───────▶ FAILED   (the reserved amount returns to the order)
"""

from __future__ import annotations

import enum

__all__ = ["OrderState", "RefundState", "can_transition"]


class OrderState(enum.StrEnum):
    USERPAYING = "USERPAYING"  # created, waiting for the payer
    SUCCESS = "SUCCESS"  # paid
    CLOSED = "CLOSED"  # closed by the merchant or expired unpaid


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


_ORDER_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.USERPAYING: frozenset({OrderState.SUCCESS, OrderState.CLOSED}),
    OrderState.CLOSED: frozenset({OrderState.SUCCESS}),
    OrderState.SUCCESS: frozenset(),
}


def can_transition(current: OrderState, target: OrderState) -> bool:
    return target in _ORDER_TRANSITIONS[current]
