"""Alipay's asynchronous notification (``trade_status_sync``): a form POST verified over its
sorted fields without ``sign`` and ``sign_type``, then decoded into a contract event. Pure."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.alipay import signing
from jubao.channels.alipay.mapping import parse_time, transaction_from_doc
from jubao.channels.base import ChannelRefund, RefundEvent, RefundStatus, TransactionEvent

__all__ = ["MAX_NOTIFICATION_BYTES", "decode_form", "to_event", "verified_fields"]

MAX_NOTIFICATION_BYTES = 64 * 1024
_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}


def decode_form(body: bytes) -> dict[str, str]:
    """The fields, percent-decoded in the notification's own ``charset``. A repeated field is
    refused: which copy was signed would be ambiguous."""
    if len(body) > MAX_NOTIFICATION_BYTES:
        raise ValueError("notification body too large")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError("notification body is not URL-encoded") from exc
    charset = "utf-8"
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key == "charset":
            charset = _CHARSETS.get(value.lower(), "")
            if not charset:
                raise ValueError(f"unsupported charset {value!r}")
    pairs = parse_qsl(
        text, keep_blank_values=True, strict_parsing=bool(text), encoding=charset, errors="strict"
    )
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise ValueError(f"field {key!r} repeated")
        fields[key] = value
    return fields


def verified_fields(
    fields: dict[str, str],
    *,
    alipay_key: rsa.RSAPublicKey,
    app_id: str,
    now: datetime,
    max_age_seconds: int,
) -> dict[str, str]:
    signature = fields.get("sign")
    if not signature:
        raise ValueError("notification carries no sign")
    if fields.get("sign_type", "RSA2") != "RSA2":
        raise ValueError(f"unsupported sign_type {fields.get('sign_type')!r}")
    if not signing.verify(alipay_key, signing.notification_content(fields), signature):
        raise ValueError("signature does not verify")
    if fields.get("app_id") != app_id:
        raise ValueError(f"notification for another app {fields.get('app_id')!r}")
    sent = parse_time(fields.get("notify_time"))
    if sent is None:
        raise ValueError("notify_time is missing")
    age = (now - sent).total_seconds()
    if age > max_age_seconds:
        raise ValueError(f"notification is {int(age)} s old (replayed?)")
    if age < -max_age_seconds:
        raise ValueError("notify_time lies in the future")
    return fields


def to_event(fields: dict[str, str]) -> TransactionEvent | RefundEvent:
    notify_id = fields.get("notify_id")
    if not notify_id:
        raise ValueError("notify_id is missing")
    if fields.get("notify_type", "trade_status_sync") != "trade_status_sync":
        raise ValueError(f"unsupported notify_type {fields.get('notify_type')!r}")
    seller = fields.get("seller_id") or None
    refund_request = fields.get("out_biz_no")
    if refund_request and fields.get("gmt_refund"):
        # Alipay reports the trade's cumulative refund_fee, not this refund's amount: the amount
        # stays unknown here and the refund must be confirmed by query.
        refund = ChannelRefund(
            out_refund_no=refund_request,
            status=RefundStatus.SUCCESS,
            refund_id=fields.get("trade_no") or None,
            out_trade_no=fields.get("out_trade_no") or None,
            refund_fen=None,
            success_time=parse_time(fields.get("gmt_refund")),
            raw_status=fields.get("trade_status", ""),
        )
        return RefundEvent(f"{notify_id}:{refund_request}", refund, seller)
    raw_state = fields.get("trade_status", "")
    if not raw_state:
        raise ValueError("trade_status is missing")
    transaction = transaction_from_doc(fields, raw_state=raw_state, merchant_id=seller)
    return TransactionEvent(notify_id, transaction, seller)
