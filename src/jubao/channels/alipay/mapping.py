"""Alipay's words -> the channel contract's: trade states, refund states, answer codes, and the
documents of answers and notifications. Pure; raises ``ValueError`` on anything malformed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from jubao.channels.alipay.amounts import yuan_to_fen
from jubao.channels.base import ChannelRefund, ChannelTransaction, RefundStatus, TradeStatus
from jubao.errors import ChannelError, ChannelErrorKind, ChannelUnavailable

__all__ = [
    "CHINA",
    "SUCCESS",
    "WAITING",
    "answer_error",
    "china_time",
    "error_kind",
    "parse_time",
    "refund_from_query",
    "trade_status",
    "transaction_from_doc",
]

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
SUCCESS = "10000"
WAITING = "10003"  # a payment code waits for the payer's password

_TRADE_STATES = {
    "WAIT_BUYER_PAY": TradeStatus.PENDING,
    "TRADE_SUCCESS": TradeStatus.PAID,
    "TRADE_FINISHED": TradeStatus.PAID,
    "TRADE_CLOSED": TradeStatus.CLOSED,
}

_KINDS: dict[str, ChannelErrorKind] = {
    "ACQ.TRADE_HAS_SUCCESS": ChannelErrorKind.ALREADY_PAID,
    "ACQ.TRADE_HAS_CLOSE": ChannelErrorKind.CLOSED,
    "ACQ.TRADE_NOT_EXIST": ChannelErrorKind.NOT_FOUND,
    "ACQ.CONTEXT_INCONSISTENT": ChannelErrorKind.DUPLICATE,
    "ACQ.APPLY_PC_MERCHANT_CODE_ERROR": ChannelErrorKind.DUPLICATE,
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": ChannelErrorKind.INSUFFICIENT_FUNDS,
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": ChannelErrorKind.INSUFFICIENT_FUNDS,
    "ACQ.PAYMENT_AUTH_CODE_INVALID": ChannelErrorKind.INVALID_PAYMENT_CODE,
    "ACQ.PAYMENT_FAIL": ChannelErrorKind.DECLINED,
    "ACQ.BUYER_ENABLE_STATUS_FORBID": ChannelErrorKind.DECLINED,
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR": ChannelErrorKind.DECLINED,
    "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR": ChannelErrorKind.DECLINED,
    "ACQ.PAYMENT_REQUEST_HAS_RISK": ChannelErrorKind.DECLINED,
    "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE": ChannelErrorKind.DECLINED,
    "ACQ.BEYOND_PAY_RESTRICTION": ChannelErrorKind.DECLINED,
    "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT": ChannelErrorKind.DECLINED,
    "ACQ.TRADE_BUYER_NOT_MATCH": ChannelErrorKind.DECLINED,
}
# Codes whose outcome is unknown: ask again later, never a final answer.
_UNKNOWN_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "ACQ.SYSTEM_ERROR_RETRY"})
_UNKNOWN_CODES = frozenset({"20000", "40005"})  # service unavailable; call limited
_BUSINESS_CODES = frozenset({"20001", "40001", "40002", "40003", "40004", "40006"})


def error_kind(sub_code: str) -> ChannelErrorKind:
    return _KINDS.get(sub_code.upper(), ChannelErrorKind.REJECTED)


def answer_error(doc: Mapping[str, Any]) -> ChannelError | ChannelUnavailable:
    """A non-success answer as the error it means (the message quotes Alipay's ``sub_msg``)."""
    code = str(doc.get("code", ""))
    sub_code = str(doc.get("sub_code") or "")
    text = str(doc.get("sub_msg") or doc.get("msg") or code)
    if code in _UNKNOWN_CODES or sub_code.upper() in _UNKNOWN_SUB_CODES:
        return ChannelUnavailable(f"支付宝：{text}（{sub_code or code}），结果未知，请稍后查询")
    if code in _BUSINESS_CODES and sub_code:
        return ChannelError(f"支付宝：{text}", sub_code=sub_code, kind=error_kind(sub_code))
    return ChannelUnavailable(f"支付宝：无法识别的应答（code {code or '-'}）")


def trade_status(raw: str) -> TradeStatus:
    return _TRADE_STATES.get(raw, TradeStatus.PENDING)


def parse_time(value: object) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` in China time (``.SSS`` tolerated) -> an aware datetime."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"time {value!r} is not a string")
    text = value.strip()
    layout = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, layout).replace(tzinfo=CHINA)


def china_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _required(doc: Mapping[str, Any], key: str) -> str:
    value = _text(doc, key)
    if value is None:
        raise ValueError(f"{key} is missing")
    return value


def _fen(doc: Mapping[str, Any], key: str) -> int | None:
    value = doc.get(key)
    return None if value is None else yuan_to_fen(value)


def transaction_from_doc(
    doc: Mapping[str, Any], *, raw_state: str, merchant_id: str | None = None
) -> ChannelTransaction:
    """A trade from a pay/query answer or a notification. The payment time is ``gmt_payment``
    (pay, notifications) or ``send_pay_date`` (query)."""
    status = trade_status(raw_state)
    paid_at = parse_time(doc.get("gmt_payment") or doc.get("send_pay_date"))
    total_fen = _fen(doc, "total_amount")
    if status is TradeStatus.PAID and total_fen is None:
        raise ValueError("a paid trade without total_amount")
    return ChannelTransaction(
        out_trade_no=_required(doc, "out_trade_no"),
        status=status,
        total_fen=total_fen,
        transaction_id=_text(doc, "trade_no"),
        success_time=paid_at if status is TradeStatus.PAID else None,
        payer_id=_text(doc, "buyer_user_id") or _text(doc, "buyer_id"),
        raw_state=raw_state,
        merchant_id=merchant_id,
    )


def refund_from_query(doc: Mapping[str, Any], out_refund_no: str) -> ChannelRefund:
    """``alipay.trade.fastpay.refund.query``: ``REFUND_SUCCESS`` or, absent, not (yet) done."""
    raw = _text(doc, "refund_status") or ""
    status = RefundStatus.SUCCESS if raw == "REFUND_SUCCESS" else RefundStatus.PROCESSING
    echoed = _text(doc, "out_request_no")
    if echoed is not None and echoed != out_refund_no:
        raise ValueError("out_request_no differs from the request")
    return ChannelRefund(
        out_refund_no=out_refund_no,
        status=status,
        refund_id=_text(doc, "trade_no"),
        out_trade_no=_text(doc, "out_trade_no"),
        refund_fen=_fen(doc, "refund_amount"),
        success_time=parse_time(doc.get("gmt_refund_pay")) if raw == "REFUND_SUCCESS" else None,
        raw_status=raw,
    )
