"""The trade bill (交易账单) of one China day, rendered from the simulator's own trades in WeChat's
layout (reference part 2, §8.3 and §11 "Bills from own trades"). Pure: records in, bytes out.

A header line, one line per payment (``SUCCESS``) and per refund (``REFUND``), a summary header
and one totals line. In the data and totals lines every field starts with a backtick, empty ones
too; the header lines have none. Yuan with two decimals, the fee with five, times
``yyyy-MM-dd HH:mm:ss`` in China time; UTF-8, ``\\n``, no BOM (both switchable, to harden
parsers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from jubao.channels.simulator.ids import CHINA
from jubao.channels.simulator.models import Order, Refund

__all__ = [
    "BILL_TYPES",
    "DETAIL_HEADERS",
    "SUMMARY_HEADERS",
    "BillFormat",
    "BillRow",
    "bill_rows",
    "on_day",
    "render_bill",
]

_ALL = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
_SUCCESS = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,"
    "费率备注"
)
_REFUND = _ALL.replace("代金券金额,", "代金券金额,退款申请时间,退款成功时间,", 1)
_SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)

DETAIL_HEADERS: Mapping[str, tuple[str, ...]] = {
    "ALL": tuple(_ALL.split(",")),
    "SUCCESS": tuple(_SUCCESS.split(",")),
    "REFUND": tuple(_REFUND.split(",")),
}
SUMMARY_HEADERS: Mapping[str, tuple[str, ...]] = {
    "ALL": tuple(_SUMMARY.split(",")),
    "SUCCESS": ("总交易单数", "应结订单总金额", "手续费总金额", "订单总金额"),
    "REFUND": tuple(_SUMMARY.split(",")),
}
BILL_TYPES = tuple(DETAIL_HEADERS)


@dataclass(frozen=True)
class BillFormat:
    """Byte-level variations real bills show (reference §8.3: "BOM and ``\\r\\n`` vary")."""

    bom: bool = False
    crlf: bool = False


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _fee_text(fee_fen: int) -> str:
    """A fee in yuan with five decimals, as WeChat prints it (``0.01000``)."""
    return f"{Decimal(fee_fen) / 100:.5f}"


def _time(moment: float) -> str:
    return datetime.fromtimestamp(moment, CHINA).strftime("%Y-%m-%d %H:%M:%S")


def on_day(moment: float | None, day: date) -> bool:
    """Whether ``moment`` falls on ``day`` in China time (bills are by China day)."""
    return moment is not None and datetime.fromtimestamp(moment, CHINA).date() == day


@dataclass(frozen=True)
class BillRow:
    at: float
    kind: str  # SUCCESS or REFUND
    fields: Mapping[str, str]
    amounts: Mapping[str, int]  # fen, for the totals line; the fee in fen as well


def _common(order: Order) -> dict[str, str]:
    return {
        "公众账号ID": order.app_id if order.sub_openid is not None else order.sp_appid,
        "商户号": order.sp_mchid,
        "特约商户号": order.sub_mchid,
        "设备号": "",
        "微信订单号": order.transaction_id or "",
        "商户订单号": order.out_trade_no,
        "用户标识": order.openid or "",
        "交易类型": order.trade_type,
        "付款银行": order.bank_type or "OTHERS",
        "货币种类": order.currency,
        "商品名称": order.description,
        "商户数据包": order.attach or "",
        "费率备注": "",
    }


def _fee_fen(fen: int, rate_percent: Decimal) -> int:
    """The fee on ``fen`` at ``rate_percent``, rounded half-up to whole fen."""
    return int((Decimal(fen) * rate_percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _payment_row(order: Order, rate: Decimal) -> BillRow:
    assert order.success_time is not None
    total = order.payer_total if order.payer_total is not None else order.total
    fee = _fee_fen(total, rate)
    fields = _common(order) | {
        "交易时间": _time(order.success_time),
        "交易状态": "SUCCESS",
        "应结订单金额": _yuan(total),
        "代金券金额": "0.00",
        "微信退款单号": "0",
        "商户退款单号": "0",
        "退款金额": "0.00",
        "充值券退款金额": "0.00",
        "退款类型": "",
        "退款状态": "",
        "手续费": _fee_text(fee),
        "费率": f"{rate:.2f}%",
        "订单金额": _yuan(order.total),
        "申请退款金额": "0.00",
        "退款申请时间": "",
        "退款成功时间": "",
    }
    amounts = {"settled": total, "fee": fee, "total": order.total}
    return BillRow(order.success_time, "SUCCESS", fields, amounts)


def _refund_row(order: Order, refund: Refund, rate: Decimal) -> BillRow:
    fee = _fee_fen(refund.refund, rate)
    fields = _common(order) | {
        "交易时间": _time(refund.created_at),
        "交易状态": "REFUND",
        "应结订单金额": "0.00",
        "代金券金额": "0.00",
        "微信退款单号": refund.refund_id,
        "商户退款单号": refund.out_refund_no,
        "退款金额": _yuan(refund.refund),
        "充值券退款金额": "0.00",
        "退款类型": "ORIGINAL",
        "退款状态": refund.status,  # as at generation: a bill is never rewritten
        "手续费": _fee_text(-fee),  # the fee returned
        "费率": f"{rate:.2f}%",
        "订单金额": "0.00",
        "申请退款金额": _yuan(refund.refund),
        "退款申请时间": _time(refund.created_at),
        "退款成功时间": _time(refund.success_time) if refund.success_time else "",
    }
    amounts = {"refunded": refund.refund, "fee": -fee, "requested": refund.refund}
    return BillRow(refund.created_at, "REFUND", fields, amounts)


def bill_rows(
    day: date,
    orders: Iterable[Order],
    refunds: Iterable[Refund],
    *,
    sub_mchid: str | None,
    rate_for: Mapping[str, Decimal],
    default_rate: Decimal,
) -> list[BillRow]:
    """Payments paid on ``day`` (even if refunded or reversed since) and refunds accepted on
    ``day`` (a paid code payment reversed has its full refund), of one sub-merchant or all."""
    by_key = {order.key: order for order in orders}
    rows: list[BillRow] = []
    for order in by_key.values():
        if sub_mchid is not None and order.sub_mchid != sub_mchid:
            continue
        if order.transaction_id is not None and on_day(order.success_time, day):
            rows.append(_payment_row(order, rate_for.get(order.sub_mchid, default_rate)))
    for refund in refunds:
        refunded = by_key.get(refund.order_key)
        if refunded is None or (sub_mchid is not None and refunded.sub_mchid != sub_mchid):
            continue
        if on_day(refund.created_at, day):
            rate = rate_for.get(refunded.sub_mchid, default_rate)
            rows.append(_refund_row(refunded, refund, rate))
    rows.sort(key=lambda row: row.at)
    return rows


def render_bill(rows: list[BillRow], bill_type: str, fmt: BillFormat = BillFormat()) -> bytes:
    """The bill's bytes for ``bill_type`` (ALL, SUCCESS or REFUND)."""
    kept = [row for row in rows if bill_type == "ALL" or row.kind == bill_type]
    header = DETAIL_HEADERS[bill_type]
    lines = [",".join(header)]
    lines += [",".join("`" + row.fields[name] for name in header) for row in kept]

    def total(name: str) -> int:
        return sum(row.amounts.get(name, 0) for row in kept)

    totals = {
        "总交易单数": str(len(kept)),
        "应结订单总金额": _yuan(total("settled")),
        "退款总金额": _yuan(total("refunded")),
        "充值券退款总金额": "0.00",
        "手续费总金额": _fee_text(total("fee")),
        "订单总金额": _yuan(total("total")),
        "申请退款总金额": _yuan(total("requested")),
    }
    summary = SUMMARY_HEADERS[bill_type]
    lines.append(",".join(summary))
    lines.append(",".join("`" + totals[name] for name in summary))
    newline = "\r\n" if fmt.crlf else "\n"
    text = newline.join(lines) + newline
    return ("\ufeff" if fmt.bom else "").encode() + text.encode("utf-8")
