"""Merchant notifications (reference section 8): verify the form jubao POSTs to ``call_back_url``
and read the order or refund it carries.

jubao POSTs ``application/x-www-form-urlencoded`` (UTF-8) with ``result_code``,
``result_message``, ``data`` (JSON text) and ``sign``. The handler verifies, acts (idempotently:
the same notification may arrive more than once) and answers HTTP 200 with the body
``NOTIFICATION_ACK``; anything else makes jubao retry later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from jubao.client.errors import InvalidNotification, NotificationSignatureError
from jubao.client.reading import ShapeError
from jubao.client.response_models import Order, Refund
from jubao.protocol import jsonwire
from jubao.protocol import notification as wire

__all__ = [
    "NOTIFICATION_ACK",
    "Notification",
    "PaymentNotification",
    "RefundNotification",
    "parse_notification",
]

NOTIFICATION_ACK: str = wire.ACK  # "success": the exact body to answer with
_MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class PaymentNotification(Order):
    """An order was paid (``trade_state`` ``SUCCESS``). All fields of ``Order``."""


@dataclass(frozen=True, slots=True)
class RefundNotification(Refund):
    """A refund settled (``refund_status`` ``REFUND_SUCCESS`` or ``REFUND_FAILER``)."""


Notification = PaymentNotification | RefundNotification


def parse_notification(body: bytes | Mapping[str, str], app_secret: str) -> Notification:
    """Verify a notification and return what it reports.

    ``body``: the raw request body (bytes), or the already-parsed form as a mapping. Raises
    ``NotificationSignatureError`` when ``sign`` is missing or wrong (answer non-2xx, do nothing),
    ``InvalidNotification`` when a correctly signed form is malformed.
    """
    if not app_secret:
        raise ValueError("app_secret is required to verify a notification")
    form = form_fields(body)
    if not form.get("sign"):
        raise NotificationSignatureError("the notification has no sign")
    if not wire.verify_form(form, app_secret):
        raise NotificationSignatureError(
            "the notification's sign does not match: wrong app_secret, or the form was altered"
        )
    return _content(form)


def form_fields(body: bytes | Mapping[str, str]) -> dict[str, str]:
    """A form body (bytes) or an already-parsed form, as text fields (1.0 and 2.0)."""
    if isinstance(body, bytes | bytearray | memoryview):
        return _decode_form(bytes(body))
    form: dict[str, str] = {}
    for key, value in body.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidNotification("notification form fields must be text")
        form[key] = value
    return form


def _decode_form(raw: bytes) -> dict[str, str]:
    if len(raw) > _MAX_FORM_BYTES:
        raise InvalidNotification("notification body too large")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidNotification(f"not a UTF-8 url-encoded form: {exc}") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:  # two values for one signed field: refuse rather than pick one
            raise InvalidNotification(f"field {key!r} appears twice")
        form[key] = value
    return form


def notified_data(form: Mapping[str, str]) -> dict[str, Any]:
    """A verified notification's ``data`` object (1.0 and 2.0 share the envelope)."""
    if form.get("result_code") != "200":
        raise InvalidNotification(f"unexpected result_code {form.get('result_code')!r}")
    try:
        data: Any = jsonwire.loads(form.get("data", ""))
    except jsonwire.JsonError as exc:
        raise InvalidNotification(f"data is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidNotification("data is not a JSON object")
    return data


def _content(form: Mapping[str, str]) -> Notification:
    data = notified_data(form)
    try:
        if "refund_sn" in data:
            return RefundNotification.from_wire(data)
        return PaymentNotification.from_wire(data)
    except ShapeError as exc:
        raise InvalidNotification(f"data: {exc}") from exc
