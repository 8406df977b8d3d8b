"""The Open API 2.0 enumerations (reference 7.2), as text enums: each member *is* its wire string.

An answer with a value outside these is an ``InvalidResponse`` (the SDK and the gateway are
released together; a new value comes with a new SDK).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderStatus", "PayType", "RefundStatus"]


class PayType(StrEnum):
    """``pay_type``: the wallet or card scheme that pays (1.0's integer ``type``)."""

    WXPAY = "wxpay"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"
    BANKCARDPAY = "bankcardpay"  # card terminals; seen in notifications only


class OrderStatus(StrEnum):
    """``order_status`` (1.0's ``trade_state``)."""

    USERPAYING = "USERPAYING"  # created, waiting for the payer
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"  # closed or expired unpaid, or a declined payment code
    REVOKING = "REVOKING"
    REVOKED = "REVOKED"


class RefundStatus(StrEnum):
    """``refund_status``; 2.0 spells the failure ``REFUND_FAIL`` (1.0: ``REFUND_FAILER``)."""

    REFUND_PROCESSING = "REFUND_PROCESSING"
    REFUND_SUCCESS = "REFUND_SUCCESS"
    REFUND_FAIL = "REFUND_FAIL"
