"""WeChat's JSON <-> jubao's channel value types, with exhaustive status mapping.

Unknown trade states mean "pending, ask again"; unknown refund statuses mean "processing". A new
upstream state must never be read as money having moved (or failed to).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from jubao.channels.base import (
    ChannelRefund,
    ChannelTransaction,
    PaymentRequest,
    RefundRequest,
    RefundStatus,
    TradeStatus,
)
from jubao.errors import ChannelErrorKind

__all__ = [
    "REFUND_STATUSES",
    "TRADE_STATES",
    "MappingError",
    "codepay_body",
    "error_kind",
    "format_rfc3339",
    "jsapi_prepay_body",
    "native_prepay_body",
    "normalise_error_code",
    "parse_rfc3339",
    "pending_code_payment",
    "refund_body",
    "refund_from_json",
    "refund_status",
    "trade_status",
    "transaction_from_json",
]

CHINA = timezone(timedelta(hours=8))
CURRENCY = "CNY"

TRADE_STATES: Mapping[str, TradeStatus] = {
    "SUCCESS": TradeStatus.PAID,
    "REFUND": TradeStatus.PAID,  # paid, then a refund was requested: the payment still happened
    "NOTPAY": TradeStatus.PENDING,
    "USERPAYING": TradeStatus.PENDING,
    "CLOSED": TradeStatus.CLOSED,
    "REVOKED": TradeStatus.REVOKED,
    "PAYERROR": TradeStatus.FAILED,
}

REFUND_STATUSES: Mapping[str, RefundStatus] = {
    "SUCCESS": RefundStatus.SUCCESS,
    "PROCESSING": RefundStatus.PROCESSING,
    "CLOSED": RefundStatus.FAILED,
    "ABNORMAL": RefundStatus.FAILED,
}

# v2 spelled some codes without underscores and secondary sources still show them for v3.
_CODE_ALIASES: Mapping[str, str] = {
    "ORDERPAID": "ORDER_PAID",
    "ORDERNOTEXIST": "ORDER_NOT_EXIST",
    "SYSTEMERROR": "SYSTEM_ERROR",
    "SIGNERROR": "SIGN_ERROR",
    "AUTHCODEEXPIRE": "AUTH_CODE_EXPIRE",
    "NOTENOUGH": "NOT_ENOUGH",
    "ORDERCLOSED": "ORDER_CLOSED",
    "ORDERREVERSED": "ORDER_REVERSED",
}


# WeChat's business codes by what they mean; anything else is a plain refusal (REJECTED).
ERROR_KINDS: Mapping[str, ChannelErrorKind] = {
    "ORDER_PAID": ChannelErrorKind.ALREADY_PAID,
    "ORDER_CLOSED": ChannelErrorKind.CLOSED,
    "ORDER_REVERSED": ChannelErrorKind.CLOSED,
    "ORDER_NOT_EXIST": ChannelErrorKind.NOT_FOUND,
    "RESOURCE_NOT_EXISTS": ChannelErrorKind.NOT_FOUND,
    "OUT_TRADE_NO_USED": ChannelErrorKind.DUPLICATE,
    "NOT_ENOUGH": ChannelErrorKind.INSUFFICIENT_FUNDS,
    "AUTH_CODE_INVALID": ChannelErrorKind.INVALID_PAYMENT_CODE,
    "AUTH_CODE_EXPIRE": ChannelErrorKind.INVALID_PAYMENT_CODE,
    "AUTH_CODE_ERROR": ChannelErrorKind.INVALID_PAYMENT_CODE,
    "PAYER_ACCOUNT_ABNORMAL": ChannelErrorKind.DECLINED,
    "ACCOUNT_ERROR": ChannelErrorKind.DECLINED,
    "NOTSUPORTCARD": ChannelErrorKind.DECLINED,
    "TRADE_ERROR": ChannelErrorKind.DECLINED,
    "BUYER_MISMATCH": ChannelErrorKind.DECLINED,
    "NO_AUTH": ChannelErrorKind.UNSUPPORTED,
    "NO_STATEMENT_EXIST": ChannelErrorKind.NOT_FOUND,
}


class MappingError(ValueError):
    """A WeChat JSON document lacks a field jubao relies on, or has it with the wrong type."""


def trade_status(raw: str) -> TradeStatus:
    return TRADE_STATES.get(raw, TradeStatus.PENDING)


def refund_status(raw: str) -> RefundStatus:
    return REFUND_STATUSES.get(raw, RefundStatus.PROCESSING)


def normalise_error_code(code: str) -> str:
    return _CODE_ALIASES.get(code, code)


def error_kind(code: str) -> ChannelErrorKind:
    """The channel-neutral meaning of a (normalised) WeChat error code."""
    return ERROR_KINDS.get(normalise_error_code(code), ChannelErrorKind.REJECTED)


def format_rfc3339(moment: datetime) -> str:
    """``2026-11-25T23:13:00+08:00``: WeChat wants Beijing time, whole seconds."""
    if moment.tzinfo is None:
        raise ValueError("time_expire must be an aware datetime")
    return _china_second(int(moment.timestamp()))


@lru_cache(maxsize=64)
def _china_second(epoch_second: int) -> str:
    """Made once per second (orders created within one share it): strftime is a few us."""
    return datetime.fromtimestamp(epoch_second, CHINA).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def parse_rfc3339(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"not an RFC 3339 time: {text!r}") from None
    # WeChat always sends an offset; a bare local time can only be Beijing time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA)


# ---- request bodies -----------------------------------------------------------------------------


def jsapi_prepay_body(request: PaymentRequest, *, sp_appid: str, sp_mchid: str) -> dict[str, Any]:
    """The partner JSAPI order (mini-program and official account alike: the sub_appid says
    which): the payer is their openid under the merchant's own app."""
    if not request.binding.app_id or not request.payer_id:
        raise ValueError("a JSAPI payment needs the merchant's sub_appid and the payer's openid")
    body: dict[str, Any] = {
        "sp_appid": sp_appid,
        "sp_mchid": sp_mchid,
        "sub_appid": request.binding.app_id,
        "sub_mchid": request.binding.merchant_id,
        "description": request.description,
        "out_trade_no": request.out_trade_no,
        "time_expire": format_rfc3339(request.time_expire),
        "notify_url": request.notify_url,
        "amount": {"total": _fen(request.total_fen), "currency": CURRENCY},
        "payer": {"sub_openid": request.payer_id},
    }
    if request.attach:
        body["attach"] = request.attach
    return body


def native_prepay_body(request: PaymentRequest, *, sp_appid: str, sp_mchid: str) -> dict[str, Any]:
    """The partner Native order: the JSAPI body without a payer (whoever scans pays)."""
    body: dict[str, Any] = {
        "sp_appid": sp_appid,
        "sp_mchid": sp_mchid,
        "sub_mchid": request.binding.merchant_id,
        "description": request.description,
        "out_trade_no": request.out_trade_no,
        "time_expire": format_rfc3339(request.time_expire),
        "notify_url": request.notify_url,
        "amount": {"total": _fen(request.total_fen), "currency": CURRENCY},
    }
    if request.binding.app_id:
        body["sub_appid"] = request.binding.app_id
    if request.attach:
        body["attach"] = request.attach
    return body


def codepay_body(request: PaymentRequest, *, sp_appid: str, sp_mchid: str) -> dict[str, Any]:
    """The partner code payment: the customer's payment code, no notify_url (WeChat reports a
    code payment only in this answer and in queries)."""
    if not request.auth_code:
        raise ValueError("a code payment needs the customer's payment code")
    body: dict[str, Any] = {
        "sp_appid": sp_appid,
        "sp_mchid": sp_mchid,
        "sub_mchid": request.binding.merchant_id,
        "description": request.description,
        "out_trade_no": request.out_trade_no,
        "payer": {"auth_code": request.auth_code},
        "amount": {"total": _fen(request.total_fen), "currency": CURRENCY},
        "scene_info": {"store_info": {"out_id": request.store_ref or "0"}},
    }
    if request.binding.app_id:
        body["sub_appid"] = request.binding.app_id
    if request.attach:
        body["attach"] = request.attach
    return body


def pending_code_payment(doc: Mapping[str, Any], out_trade_no: str) -> ChannelTransaction:
    """A 202 to a code payment: the payer must confirm on their phone. WeChat's body may be the
    whole Transaction or just ``{"trade_state":"USERPAYING"}``: only its state is read."""
    raw_state = _str(doc, "trade_state") or "USERPAYING"
    return ChannelTransaction(out_trade_no, TradeStatus.PENDING, raw_state=raw_state)


def refund_body(request: RefundRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sub_mchid": request.binding.merchant_id,
        "out_trade_no": request.out_trade_no,
        "out_refund_no": request.out_refund_no,
    }
    if request.reason:
        body["reason"] = request.reason
    if request.notify_url:
        body["notify_url"] = request.notify_url
    body["amount"] = {
        "refund": _fen(request.refund_fen),
        "total": _fen(request.total_fen),
        "currency": CURRENCY,
    }
    return body


def _fen(value: int) -> int:
    # bool is an int subclass and a float amount is a bug upstream of us: refuse both loudly.
    if type(value) is not int or value < 1:
        raise ValueError(f"amount must be a positive integer number of fen, got {value!r}")
    return value


# ---- response documents -------------------------------------------------------------------------


def transaction_from_json(doc: Mapping[str, Any]) -> ChannelTransaction:
    """A Transaction (query answer or decrypted TRANSACTION.* notification)."""
    raw_state = _required_str(doc, "trade_state")
    amount = _object(doc, "amount")
    payer = _object(doc, "payer")
    payer_openid = _str(payer, "sub_openid") or _str(payer, "sp_openid") or _str(payer, "openid")
    success_time = _str(doc, "success_time")
    return ChannelTransaction(
        out_trade_no=_required_str(doc, "out_trade_no"),
        status=trade_status(raw_state),
        total_fen=_int(amount, "total"),
        transaction_id=_str(doc, "transaction_id"),
        success_time=parse_rfc3339(success_time) if success_time else None,
        payer_id=payer_openid,
        raw_state=raw_state,
        merchant_id=_str(doc, "sub_mchid"),
    )


def refund_from_json(doc: Mapping[str, Any]) -> ChannelRefund:
    """A Refund: the refund/query answer (``status``) or a decrypted REFUND.* notification
    (``refund_status``)."""
    raw_status = _str(doc, "status") or _required_str(doc, "refund_status")
    amount = _object(doc, "amount")
    success_time = _str(doc, "success_time")
    return ChannelRefund(
        out_refund_no=_required_str(doc, "out_refund_no"),
        status=refund_status(raw_status),
        refund_id=_str(doc, "refund_id"),
        out_trade_no=_str(doc, "out_trade_no"),
        refund_fen=_int(amount, "refund"),
        success_time=parse_rfc3339(success_time) if success_time else None,
        raw_status=raw_status,
    )


def _object(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"{key} is not an object")
    return value


def _str(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{key} is not a string")
    return value


def _required_str(doc: Mapping[str, Any], key: str) -> str:
    value = _str(doc, key)
    if value is None:
        raise MappingError(f"{key} is missing")
    return value


def _int(doc: Mapping[str, Any], key: str) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if type(value) is not int:  # never a float or a bool for money
        raise MappingError(f"{key} is not an integer")
    return value
