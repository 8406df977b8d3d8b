from __future__ import annotations

from jubao.payments.states import OrderState, RefundState, can_transition


def test_order_transitions() -> None:
    allowed = {
        (current, target)
        for current in OrderState
        for target in OrderState
        if can_transition(current, target)
    }
    assert allowed == {
        (OrderState.USERPAYING, OrderState.SUCCESS),
        (OrderState.USERPAYING, OrderState.CLOSED),
        # the payer's money was taken for a closed order: it becomes paid, never stays closed
        (OrderState.CLOSED, OrderState.SUCCESS),
        # payment codes: a reverse of an unpaid or paid order, retried after a refusal
        (OrderState.USERPAYING, OrderState.REVOKING),
        (OrderState.SUCCESS, OrderState.REVOKING),
        (OrderState.REVOKING, OrderState.REVOKED),
        (OrderState.REVOKING, OrderState.REVOKED_ERROR),
        (OrderState.REVOKED_ERROR, OrderState.REVOKING),
        # the payer confirmed while the reverse was under way: the payment is recorded first
        (OrderState.REVOKING, OrderState.SUCCESS),
        (OrderState.REVOKED_ERROR, OrderState.SUCCESS),
    }


def test_refund_states_use_fubei_spelling() -> None:
    assert [state.wire for state in RefundState] == [
        "REFUND_PROCESSING",
        "REFUND_SUCCESS",
        "REFUND_FAILER",
    ]
