"""Open API 2.0 notifications (reference 8.2): verify what the gateway POSTs to ``notify_url`` (or
the configured callback) and read the order or refund it carries.

The envelope is 1.0's: ``result_code``, ``result_message``, ``data`` (JSON text) and ``sign``,
MD5-signed over every field but ``sign`` with the secret of whoever created the order: the vendor
secret for an order a service provider placed, the app secret for a merchant-level order. It
arrives as a UTF-8 form (a JSON object body is accepted too). The 2.0 ``data`` layout differs:
``total_amount``, ``order_status``, ``pay_type``, ``finish_time``, ``uid`` for the merchant, and
for a refund ``refund_sn``, ``refund_amount``, ``refund_status``. Answer HTTP 200 with the body
``NOTIFICATION_ACK``; act idempotently, the same notification may arrive more than once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jubao.client.errors import InvalidNotification, NotificationSignatureError
from jubao.client.notifications import NOTIFICATION_ACK, form_fields, notified_data
from jubao.client.reading import ShapeError
from jubao.client.v2.response_models import Order, Refund
from jubao.protocol import jsonwire
from jubao.protocol import notification as wire

__all__ = [
    "NOTIFICATION_ACK",
    "Notification",
    "PaymentNotification",
    "RefundNotification",
    "parse_notification",
]

_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class PaymentNotification(Order):
    """An order was paid (``order_status`` ``SUCCESS``). All fields of ``Order``; ``merchant_id``
    is read from ``uid``."""


@dataclass(frozen=True, slots=True)
class RefundNotification(Refund):
    """A refund settled (``refund_status`` ``REFUND_SUCCESS`` or ``REFUND_FAIL``)."""


Notification = PaymentNotification | RefundNotification


def parse_notification(body: bytes | Mapping[str, str], secret: str) -> Notification:
    """Verify a 2.0 notification with the vendor or app secret and return what it reports.

    ``body``: the raw request body (form or JSON bytes), or the already-parsed form as a mapping.
    Raises ``NotificationSignatureError`` when ``sign`` is missing or wrong (answer non-2xx, do
    nothing), ``InvalidNotification`` when a correctly signed notification is malformed.
    """
    if not secret:
        raise ValueError("the vendor or app secret is required to verify a notification")
    fields = _fields(body)
    if not fields.get("sign"):
        raise NotificationSignatureError("the notification has no sign")
    if not wire.verify_form(fields, secret):
        raise NotificationSignatureError(
            "the notification's sign does not match: wrong secret (vendor or app, whoever "
            "created the order), or the notification was altered"
        )
    return _content(fields)


def _fields(body: bytes | Mapping[str, str]) -> dict[str, str]:
    if isinstance(body, bytes | bytearray | memoryview) and bytes(body).lstrip()[:1] == b"{":
        return _json_fields(bytes(body))
    return form_fields(body)


def _json_fields(raw: bytes) -> dict[str, str]:
    """A JSON object body: its values as a form would carry them (numbers as their digits)."""
    if len(raw) > _MAX_BODY_BYTES:
        raise InvalidNotification("notification body too large")
    try:
        value: Any = jsonwire.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, jsonwire.JsonError) as exc:
        raise InvalidNotification(f"not a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidNotification("not a JSON object")
    fields: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            fields[key] = item
        elif isinstance(item, int | Decimal) and not isinstance(item, bool):
            fields[key] = str(item)
        else:  # data must arrive as JSON text, as the signer saw it
            raise InvalidNotification(f"field {key!r} should be text")
    return fields


def _content(fields: Mapping[str, str]) -> Notification:
    data = notified_data(fields)
    try:
        if "refund_sn" in data:
            return RefundNotification.from_wire(data)
        return PaymentNotification.from_wire(data)
    except ShapeError as exc:
        raise InvalidNotification(f"data: {exc}") from exc
