"""Business request schemas of the statement and catalogue methods (reference 5.12, 5.13, 5.17).

Values may arrive as JSON numbers or numeric strings (reference 2.3: the Ruby gem ``hippospay``
sends every value of ``order.reconciliation`` as a string; .NET sends unset ids as ``0``). Every
list is paged and bounded: ``limit`` is at most 100, and a larger one is refused rather than
clamped, because a client computing offsets from its own ``limit`` would silently skip rows.
Times are China time, the merchant's time in Fubei's answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from jubao.errors import InvalidParameter
from jubao.protocol import fields, jsonwire

__all__ = [
    "CATALOGUE_LIMIT",
    "CHINA",
    "DAY_MS",
    "DEFAULT_LIMIT",
    "MAX_BILL_DAYS",
    "MAX_LIMIT",
    "MAX_PAGE",
    "BillRequest",
    "CashierQuery",
    "CategoryQuery",
    "Page",
    "ReconciliationRequest",
    "StoreQuery",
    "parse_bill",
    "parse_cashier_query",
    "parse_category",
    "parse_page",
    "parse_reconciliation",
    "parse_store_query",
]

# clock.CHINA, the time order_sn is written in; spelled here because protocol ships with the SDK,
# which imports no server module
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
DAY_MS = 86_400_000
DEFAULT_LIMIT = 10  # the reference's default for bill and reconciliation
CATALOGUE_LIMIT = 100  # store and cashier lists: a typical merchant's whole list in one answer
MAX_LIMIT = 100
MAX_PAGE = 100_000  # 10 million rows at the largest limit: far past any one window's orders
MAX_BILL_DAYS = 31  # a month's transactions; longer periods are asked month by month
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})", re.ASCII)  # no ２０２６
_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
_ANY_INT = 2**53 - 1


@dataclass(frozen=True, slots=True)
class Page:
    page: int  # 1-based
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _bounded(biz: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = fields.integer(biz, name, minimum=-_ANY_INT, maximum=_ANY_INT)
    if value is None:
        return default
    if not low <= value <= high:
        raise InvalidParameter(f"参数 {name} 必须是 {low} 到 {high} 之间的整数（默认 {default}）")
    return value


def parse_page(biz: dict[str, Any], default_limit: int = DEFAULT_LIMIT) -> Page:
    return Page(
        page=_bounded(biz, "page", 1, MAX_PAGE, 1),
        limit=_bounded(biz, "limit", 1, MAX_LIMIT, default_limit),
    )


def _optional_id(biz: dict[str, Any], name: str) -> int | None:
    """A store or cashier filter; absent, empty or 0 (what .NET sends unset) is no filter."""
    return fields.integer(biz, name, minimum=0, maximum=fields.INT10_MAX) or None


@dataclass(frozen=True, slots=True)
class BillRequest:
    """``openapi.payment.order.bill``: payments whose pay time is in ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int  # exclusive: one second past the end_time the merchant gave
    store_id: int | None
    cashier_id: int | None
    page: Page


def _moment(biz: dict[str, Any], name: str) -> datetime:
    value = fields.text(biz, name, max_len=32, required=True)
    assert value is not None
    found = _TIME.fullmatch(value.strip())
    moment = None
    if found is not None:
        try:
            year, month, day, hour, minute, second = (int(part) for part in found.groups())
            moment = datetime(year, month, day, hour, minute, second, tzinfo=CHINA)
        except ValueError:
            moment = None
    if moment is None:
        shown = jsonwire.preview(value)
        raise InvalidParameter(
            f"参数 {name} 不是有效的时间：{shown}，格式应为 {_TIME_FORMAT}（北京时间）",
            sub_code="INVALID_TIME",
        )
    return moment


def parse_bill(biz: dict[str, Any]) -> BillRequest:
    start = _moment(biz, "start_time")
    end = _moment(biz, "end_time")
    if end < start:
        raise InvalidParameter("结束时间 end_time 不能早于开始时间 start_time",
                               sub_code="INVALID_TIME_RANGE")  # fmt: skip
    start_ms = int(start.timestamp()) * 1000
    end_ms = int(end.timestamp()) * 1000 + 1000  # end_time's whole second is inside
    if end_ms - start_ms > MAX_BILL_DAYS * DAY_MS:
        raise InvalidParameter(
            f"查询时间跨度不能超过 {MAX_BILL_DAYS} 天，请分段查询", sub_code="TIME_RANGE_TOO_LONG"
        )
    return BillRequest(
        start_ms=start_ms,
        end_ms=end_ms,
        store_id=_optional_id(biz, "store_id"),
        cashier_id=_optional_id(biz, "cashier_id"),
        page=parse_page(biz),
    )


@dataclass(frozen=True, slots=True)
class ReconciliationRequest:
    """``openapi.payment.order.reconciliation``: orders created on one China day."""

    day: date
    store_id: int | None
    cashier_id: int | None
    page: Page
    every_order: bool  # type 1: unpaid orders too; otherwise only the paid ones

    @property
    def start_ms(self) -> int:
        start = datetime(self.day.year, self.day.month, self.day.day, tzinfo=CHINA)
        return int(start.timestamp()) * 1000

    @property
    def end_ms(self) -> int:
        return self.start_ms + DAY_MS


def parse_reconciliation(biz: dict[str, Any]) -> ReconciliationRequest:
    year = fields.integer(biz, "year", required=True, minimum=-_ANY_INT, maximum=_ANY_INT)
    month = fields.integer(biz, "month", required=True, minimum=-_ANY_INT, maximum=_ANY_INT)
    day = fields.integer(biz, "day", required=True, minimum=-_ANY_INT, maximum=_ANY_INT)
    assert year is not None and month is not None and day is not None
    try:
        if not 2000 <= year <= 9999:
            raise ValueError(year)
        the_day = date(year, month, day)
    except ValueError:
        raise InvalidParameter(
            f"日期 year={year} month={month} day={day} 不存在（年份 2000-9999）",
            sub_code="INVALID_TIME",
        ) from None
    kind = fields.integer(biz, "type", minimum=-_ANY_INT, maximum=_ANY_INT) or 0
    if kind not in (0, 1):
        raise InvalidParameter(f"参数 type={kind} 无效：1 返回全部订单，不传只返回已支付订单")
    return ReconciliationRequest(
        day=the_day,
        store_id=_optional_id(biz, "store_id"),
        cashier_id=_optional_id(biz, "cashier_id"),
        page=parse_page(biz),
        every_order=kind == 1,
    )


@dataclass(frozen=True, slots=True)
class StoreQuery:
    """``openapi.payment.store.query``: the merchant's stores, optionally by name or id."""

    store_name: str | None  # contained in the name (ASCII letters in any case)
    store_id: int | None
    page: Page


def parse_store_query(biz: dict[str, Any]) -> StoreQuery:
    # Fubei's field is camelCase storeId (ParamPaymentQueryStore); store_id is read too
    key = "storeId" if biz.get("storeId") not in (None, "") else "store_id"
    return StoreQuery(
        store_name=fields.text(biz, "store_name", max_len=64),
        store_id=_optional_id(biz, key),
        page=parse_page(biz, CATALOGUE_LIMIT),
    )


@dataclass(frozen=True, slots=True)
class CashierQuery:
    """``openapi.payment.cashier.query``: the cashiers of one store, or of every store."""

    store_id: int | None
    page: Page


def parse_cashier_query(biz: dict[str, Any]) -> CashierQuery:
    return CashierQuery(store_id=_optional_id(biz, "store_id"),
                        page=parse_page(biz, CATALOGUE_LIMIT))  # fmt: skip


@dataclass(frozen=True, slots=True)
class CategoryQuery:
    parent_id: int  # 0: the top level


def parse_category(biz: dict[str, Any]) -> CategoryQuery:
    return CategoryQuery(parent_id=fields.integer(biz, "parent_id", maximum=fields.INT10_MAX) or 0)
