"""Request validation for the v3 endpoints (reference §3 and §4), independent of any state.

Each ``parse_*`` takes the decoded JSON object and returns a typed request or raises
:class:`ApiError` with the status and code WeChat documents for that mistake."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jubao.channels.simulator.errors import ApiError, InternalCode, param_error

__all__ = [
    "AUTH_CODE",
    "CloseRequest",
    "CodepayRequest",
    "PrepayRequest",
    "RefundRequest",
    "parse_close",
    "parse_codepay",
    "parse_json_object",
    "parse_native",
    "parse_prepay",
    "parse_refund",
    "require_query",
]

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
AUTH_CODE = re.compile(r"1[0-5]\d{16}")
"""A WeChat payment code: 18 digits starting 10-15 (reference part 2, §2.4)."""
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")

PREPAY_FIELDS = frozenset(
    {
        "sp_appid", "sp_mchid", "sub_appid", "sub_mchid", "description", "out_trade_no",
        "time_expire", "attach", "notify_url", "goods_tag", "support_fapiao", "amount", "payer",
        "detail", "scene_info", "settle_info",
    }
)  # fmt: skip
CODEPAY_FIELDS = frozenset(
    {
        "sp_appid", "sp_mchid", "sub_appid", "sub_mchid", "description", "out_trade_no", "attach",
        "goods_tag", "support_fapiao", "payer", "amount", "scene_info", "detail", "settle_info",
    }
)  # fmt: skip
REFUND_FIELDS = frozenset(
    {
        "sub_mchid", "transaction_id", "out_trade_no", "out_refund_no", "reason", "notify_url",
        "funds_account", "amount", "goods_detail",
    }
)  # fmt: skip


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise param_error(f"请求体不是合法的JSON: {error}") from None
    if not isinstance(data, dict):
        raise param_error("请求体必须是JSON对象")
    return data


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _reject_extra(data: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise param_error(
            f"参数中含有非法的额外参数: {where}{extra[0]}",
            f"{where}{extra[0]}",
            internal=InternalCode.EXTRA_PARAMETER,
        )


def _string(
    data: Mapping[str, Any],
    name: str,
    *,
    max_len: int,
    required: bool = True,
    min_len: int = 1,
    where: str = "",
) -> str | None:
    value = data.get(name)
    label = where + name
    if value is None:
        if required:
            raise param_error(f"缺少参数 {label}", label)
        return None
    if not isinstance(value, str):
        raise param_error(f"{label} 必须是字符串", label)
    if not min_len <= len(value) <= max_len:
        raise param_error(f"{label} 长度须在 {min_len} 到 {max_len} 之间", label)
    return value


def _required(data: Mapping[str, Any], name: str, *, max_len: int, where: str = "") -> str:
    value = _string(data, name, max_len=max_len, where=where)
    assert value is not None  # required=True raised otherwise
    return value


def _object(data: Mapping[str, Any], name: str, *, required: bool) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        if required:
            raise param_error(f"缺少参数 {name}", name)
        return None
    if not isinstance(value, dict):
        raise param_error(f"{name} 必须是JSON对象", name)
    return value


def _integer(data: Mapping[str, Any], name: str, *, minimum: int, where: str) -> int:
    value = data.get(name)
    label = where + name
    if value is None:
        raise param_error(f"缺少参数 {label}", label)
    # bool is an int in Python; WeChat's JSON schema does not accept true as 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise param_error(f"{label} 必须是整数（单位：分）", label)
    if value < minimum:
        raise param_error(f"{label} 不能小于 {minimum}", label)
    return value


def _currency(data: Mapping[str, Any], *, required: bool, where: str) -> str:
    value = _string(data, "currency", max_len=16, required=required, where=where)
    if value is not None and value != "CNY":
        raise param_error(f"{where}currency 仅支持 CNY", f"{where}currency")
    return "CNY"


def _notify_url(data: Mapping[str, Any], *, required: bool) -> str | None:
    value = _string(data, "notify_url", max_len=255, required=required)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise param_error("notify_url 必须是 http(s) 绝对地址", "notify_url")
    if parts.query or "?" in value or parts.fragment:
        raise param_error("notify_url 不能携带参数", "notify_url")
    return value


def _time(value: Any, name: str) -> float:
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise param_error(f"{name} 须为 RFC3339 格式，如 2018-06-08T10:34:56+08:00", name)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise param_error(f"{name} 不是有效时间", name) from None


@dataclass(frozen=True)
class PrepayRequest:
    sp_appid: str
    sp_mchid: str
    sub_appid: str | None
    sub_mchid: str
    description: str
    out_trade_no: str
    time_expire: float | None
    attach: str | None
    notify_url: str
    total: int
    currency: str
    sp_openid: str | None
    sub_openid: str | None
    fingerprint: str


def parse_prepay(data: Mapping[str, Any]) -> PrepayRequest:
    """The JSAPI order: the payer's openid is required."""
    return _parse_order(data, native=False)


def parse_native(data: Mapping[str, Any]) -> PrepayRequest:
    """The Native order: the JSAPI body without a payer (whoever scans the code pays)."""
    return _parse_order(data, native=True)


def _parse_order(data: Mapping[str, Any], *, native: bool) -> PrepayRequest:
    _reject_extra(data, PREPAY_FIELDS)
    sp_appid = _required(data, "sp_appid", max_len=32)
    sp_mchid = _required(data, "sp_mchid", max_len=32)
    sub_appid = _string(data, "sub_appid", max_len=32, required=False)
    sub_mchid = _required(data, "sub_mchid", max_len=32)
    description = _required(data, "description", max_len=127)
    out_trade_no = _out_trade_no(data)
    raw_expire = data.get("time_expire")
    time_expire = None if raw_expire is None else _time(raw_expire, "time_expire")
    attach = _string(data, "attach", max_len=128, required=False)
    notify_url = _notify_url(data, required=True)
    assert notify_url is not None
    _optional_kinds(data)
    total, currency = _amount(data)
    payer = _object(data, "payer", required=False) or {}
    if native:
        # Only a real-name identity check (a separate permission) may ride along on Native.
        _reject_extra(payer, frozenset({"identity"}), "payer.")
        sp_openid = sub_openid = None
    else:
        _reject_extra(payer, frozenset({"sp_openid", "sub_openid"}), "payer.")
        sp_openid = _string(payer, "sp_openid", max_len=128, required=False, where="payer.")
        sub_openid = _string(payer, "sub_openid", max_len=128, required=False, where="payer.")
        if sp_openid is None and sub_openid is None:
            raise param_error(
                "JSAPI支付必须传openid", "payer.sub_openid", internal=InternalCode.OPENID_REQUIRED
            )
        if sp_openid is not None and sub_openid is not None:
            raise param_error("payer.sp_openid 与 payer.sub_openid 只能传一个", "payer")
        if sub_openid is not None and sub_appid is None:
            raise param_error("传 payer.sub_openid 时 sub_appid 必填", "sub_appid")
    # A Native body could equal no JSAPI body, but say so explicitly: the method is part of it.
    fingerprint = ("NATIVE:" if native else "") + canonical(data)
    return PrepayRequest(
        sp_appid, sp_mchid, sub_appid, sub_mchid, description, out_trade_no, time_expire,
        attach, notify_url, total, currency, sp_openid, sub_openid, fingerprint,
    )  # fmt: skip


def _out_trade_no(data: Mapping[str, Any]) -> str:
    out_trade_no = _required(data, "out_trade_no", max_len=32)
    if not OUT_TRADE_NO.fullmatch(out_trade_no):
        raise param_error("out_trade_no 须为6-32位数字、字母或 _-|*", "out_trade_no")
    return out_trade_no


def _optional_kinds(data: Mapping[str, Any]) -> None:
    for optional, kind in (
        ("goods_tag", str),
        ("support_fapiao", bool),
        ("detail", dict),
        ("scene_info", dict),
        ("settle_info", dict),
    ):
        if optional in data and not isinstance(data[optional], kind):
            raise param_error(f"{optional} 类型错误", optional)


def _amount(data: Mapping[str, Any]) -> tuple[int, str]:
    amount = _object(data, "amount", required=True)
    assert amount is not None
    _reject_extra(amount, frozenset({"total", "currency"}), "amount.")
    total = _integer(amount, "total", minimum=1, where="amount.")
    return total, _currency(amount, required=False, where="amount.")


@dataclass(frozen=True)
class CodepayRequest:
    sp_appid: str
    sp_mchid: str
    sub_appid: str | None
    sub_mchid: str
    description: str
    out_trade_no: str
    attach: str | None
    auth_code: str
    total: int
    currency: str
    fingerprint: str


def parse_codepay(data: Mapping[str, Any]) -> CodepayRequest:
    """The partner code payment (reference part 2, §2.1): no notify_url, no time_expire."""
    _reject_extra(data, CODEPAY_FIELDS)
    sp_appid = _required(data, "sp_appid", max_len=32)
    sp_mchid = _required(data, "sp_mchid", max_len=32)
    sub_appid = _string(data, "sub_appid", max_len=32, required=False)
    sub_mchid = _required(data, "sub_mchid", max_len=32)
    description = _required(data, "description", max_len=127)
    out_trade_no = _out_trade_no(data)
    attach = _string(data, "attach", max_len=128, required=False)
    _optional_kinds(data)
    total, currency = _amount(data)
    payer = _object(data, "payer", required=True)
    assert payer is not None
    _reject_extra(payer, frozenset({"auth_code"}), "payer.")
    auth_code = _required(payer, "auth_code", max_len=128, where="payer.")
    scene = _object(data, "scene_info", required=True)
    assert scene is not None
    if not isinstance(scene.get("store_info"), dict):
        raise param_error("缺少参数 scene_info.store_info", "scene_info.store_info")
    return CodepayRequest(
        sp_appid, sp_mchid, sub_appid, sub_mchid, description, out_trade_no, attach, auth_code,
        total, currency, canonical(data),
    )  # fmt: skip


@dataclass(frozen=True)
class CloseRequest:
    sp_mchid: str
    sub_mchid: str


def parse_close(data: Mapping[str, Any]) -> CloseRequest:
    _reject_extra(data, frozenset({"sp_mchid", "sub_mchid"}))
    return CloseRequest(
        _required(data, "sp_mchid", max_len=32), _required(data, "sub_mchid", max_len=32)
    )


@dataclass(frozen=True)
class RefundRequest:
    sub_mchid: str
    transaction_id: str | None
    out_trade_no: str | None
    out_refund_no: str
    reason: str | None
    notify_url: str | None
    refund: int
    total: int
    currency: str


def parse_refund(data: Mapping[str, Any]) -> RefundRequest:
    _reject_extra(data, REFUND_FIELDS)
    sub_mchid = _required(data, "sub_mchid", max_len=32)
    transaction_id = _string(data, "transaction_id", max_len=32, required=False)
    out_trade_no = _string(data, "out_trade_no", max_len=32, required=False)
    if transaction_id is None and out_trade_no is None:
        raise param_error("transaction_id 与 out_trade_no 必须二选一", "out_trade_no")
    out_refund_no = _required(data, "out_refund_no", max_len=64)
    if not OUT_REFUND_NO.fullmatch(out_refund_no):
        raise param_error("out_refund_no 须为1-64位数字、字母或 _-|*@", "out_refund_no")
    reason = _string(data, "reason", max_len=80, required=False)
    notify_url = _notify_url(data, required=False)
    funds_account = _string(data, "funds_account", max_len=32, required=False)
    if funds_account not in (None, "AVAILABLE", "UNSETTLED"):
        raise param_error("funds_account 仅支持 AVAILABLE", "funds_account")
    amount = _object(data, "amount", required=True)
    assert amount is not None
    _reject_extra(amount, frozenset({"refund", "total", "currency", "from"}), "amount.")
    refund = _integer(amount, "refund", minimum=1, where="amount.")
    total = _integer(amount, "total", minimum=1, where="amount.")
    currency = _currency(amount, required=True, where="amount.")
    if refund > total:
        raise param_error("退款金额不能大于订单金额", "amount.refund")
    if "goods_detail" in data and not isinstance(data["goods_detail"], list):
        raise param_error("goods_detail 必须是数组", "goods_detail")
    return RefundRequest(
        sub_mchid, transaction_id, out_trade_no, out_refund_no, reason, notify_url, refund,
        total, currency,
    )  # fmt: skip


def require_query(params: Mapping[str, str], *names: str) -> list[str]:
    values = []
    for name in names:
        value = params.get(name)
        if not value:
            raise ApiError(
                400,
                "PARAM_ERROR",
                f"缺少查询参数 {name}",
                detail={"field": name, "location": "query"},
            )
        values.append(value)
    return values
