"""The merchant's statements (``openapi.payment.order.bill``, ``.order.reconciliation``) and
store catalogue (``openapi.payment.store.query``, ``.cashier.query``): read-only queries, each
scoped by the app's merchant and bounded by a page.

What counts as paid: an order whose payment stands, i.e. it has a pay time and was not reversed
(``REVOKED`` returned the money). ``SUCCESS`` orders count whatever was refunded since (refunds
are their own lines in the bill's summary); a paid payment code whose reverse is under way or was
refused (``REVOKING``, ``REVOKED_ERROR``) still holds the payer's money and counts too.

- bill: the paid orders whose pay time is in the window, by pay time; the summary counts and
  sums all of them (not just the page); ``refund_num``/``refund_money`` are the refunds that
  succeeded in the window, of the merchant's orders matching the same store and cashier filter.
- reconciliation: the orders created on the day, by creation time: the paid ones, or every
  order with ``type`` 1 (``pay_status`` 0 unpaid, 1 paid).
"""

from __future__ import annotations

from dataclasses import dataclass

from jubao.errors import BusinessRuleError
from jubao.kinds import ChannelName
from jubao.merchants import catalogue
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import App, Cashier, Store
from jubao.money import Fen
from jubao.payments.states import OrderState
from jubao.protocol.statement_methods import (
    BillRequest,
    CashierQuery,
    ReconciliationRequest,
    StoreQuery,
)
from jubao.storage.database import Database
from jubao.storage.sql import Row, Tx, fetch_all, fetch_one

__all__ = [
    "Bill",
    "MerchantStatements",
    "StatementLine",
    "bill_lines",
    "bill_summary",
    "read_bill",
    "reconciliation_lines",
    "refund_summary",
]

# the payment stands: paid, and not reversed since
_PAID = f"o.paid_at IS NOT NULL AND o.state <> '{OrderState.REVOKED.value}'"
_COLUMNS = (
    "o.order_id, o.order_sn, o.merchant_order_sn, o.created_at, o.paid_at, o.state, "
    "o.total_fen, o.store_id, o.cashier_id, o.channel"
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One order as a statement lists it."""

    order_sn: str
    merchant_order_sn: str
    created_at: int
    paid_at: int | None  # None: unpaid (or its payment reversed)
    total_fen: Fen
    store_id: int
    cashier_id: int  # 0: none
    channel: ChannelName

    @classmethod
    def from_row(cls, row: Row) -> StatementLine:
        reversed_ = row["state"] == OrderState.REVOKED.value
        return cls(
            order_sn=row["order_sn"],
            merchant_order_sn=row["merchant_order_sn"],
            created_at=int(row["created_at"]),
            paid_at=None if row["paid_at"] is None or reversed_ else int(row["paid_at"]),
            total_fen=Fen(int(row["total_fen"])),
            store_id=int(row["store_id"]),
            cashier_id=int(row["cashier_id"] or 0),
            channel=ChannelName(row["channel"]),
        )

    @property
    def paid(self) -> bool:
        return self.paid_at is not None


@dataclass(frozen=True, slots=True)
class Bill:
    paid_count: int
    paid_fen: Fen
    refund_count: int
    refund_fen: Fen
    lines: list[StatementLine]


def _filters(store_id: int | None, cashier_id: int | None) -> tuple[str, list[object]]:
    sql, params = "", list[object]()
    if store_id is not None:
        sql += " AND o.store_id = ?"
        params.append(store_id)
    if cashier_id is not None:
        sql += " AND o.cashier_id = ?"
        params.append(cashier_id)
    return sql, params


def bill_lines(merchant_id: int, request: BillRequest) -> Tx[list[StatementLine]]:
    extra, params = _filters(request.store_id, request.cashier_id)
    rows = (
        yield fetch_all(
            f"SELECT {_COLUMNS} FROM orders o WHERE o.merchant_id = ? "
            f"AND o.paid_at >= ? AND o.paid_at < ? AND {_PAID}{extra} "
            "ORDER BY o.paid_at, o.order_id LIMIT ? OFFSET ?",
            merchant_id,
            request.start_ms,
            request.end_ms,
            *params,
            request.page.limit,
            request.page.offset,
        )
    ).rows
    return [StatementLine.from_row(row) for row in rows]


def bill_summary(merchant_id: int, request: BillRequest) -> Tx[tuple[int, Fen]]:
    """How many paid orders the whole window holds, and their total."""
    extra, params = _filters(request.store_id, request.cashier_id)
    row = (
        yield fetch_one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(o.total_fen), 0) AS fen FROM orders o "
            f"WHERE o.merchant_id = ? AND o.paid_at >= ? AND o.paid_at < ? AND {_PAID}{extra}",
            merchant_id,
            request.start_ms,
            request.end_ms,
            *params,
        )
    ).first
    assert row is not None
    return int(row["n"]), Fen(int(row["fen"]))


def refund_summary(merchant_id: int, request: BillRequest) -> Tx[tuple[int, Fen]]:
    """The refunds that succeeded in the window (money returned in the period)."""
    extra, params = _filters(request.store_id, request.cashier_id)
    row = (
        yield fetch_one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(r.refund_fen), 0) AS fen FROM refunds r "
            "JOIN orders o ON o.order_id = r.order_id "
            "WHERE r.status = 'SUCCESS' AND r.finished_at >= ? AND r.finished_at < ? "
            f"AND o.merchant_id = ?{extra}",
            request.start_ms,
            request.end_ms,
            merchant_id,
            *params,
        )
    ).first
    assert row is not None
    return int(row["n"]), Fen(int(row["fen"]))


def read_bill(merchant_id: int, request: BillRequest) -> Tx[Bill]:
    """The page and both summaries. Each statement reads its own snapshot (as every read does,
    storage/sqlite.py and postgres.py): a payment landing in between can show in one and not
    the other."""
    lines = yield from bill_lines(merchant_id, request)
    paid_count, paid_fen = yield from bill_summary(merchant_id, request)
    refund_count, refund_fen = yield from refund_summary(merchant_id, request)
    return Bill(paid_count, paid_fen, refund_count, refund_fen, lines)


def reconciliation_lines(
    merchant_id: int, request: ReconciliationRequest
) -> Tx[list[StatementLine]]:
    extra, params = _filters(request.store_id, request.cashier_id)
    if not request.every_order:
        extra += f" AND {_PAID}"
    rows = (
        yield fetch_all(
            f"SELECT {_COLUMNS} FROM orders o WHERE o.merchant_id = ? "
            f"AND o.created_at >= ? AND o.created_at < ?{extra} "
            "ORDER BY o.created_at, o.order_id LIMIT ? OFFSET ?",
            merchant_id,
            request.start_ms,
            request.end_ms,
            *params,
            request.page.limit,
            request.page.offset,
        )
    ).rows
    return [StatementLine.from_row(row) for row in rows]


class MerchantStatements:
    """The use cases; the app's merchant scopes every one of them."""

    def __init__(self, db: Database, merchants: MerchantDirectory) -> None:
        self._db = db
        self._merchants = merchants

    async def bill(self, app: App, request: BillRequest) -> Bill:
        await self._check_filters(app, request.store_id, request.cashier_id)
        merchant_id = app.merchant.merchant_id
        return await self._db.read(lambda: read_bill(merchant_id, request))

    async def reconciliation(self, app: App, request: ReconciliationRequest) -> list[StatementLine]:
        await self._check_filters(app, request.store_id, request.cashier_id)
        merchant_id = app.merchant.merchant_id
        return await self._db.read(lambda: reconciliation_lines(merchant_id, request))

    async def stores(self, app: App, query: StoreQuery) -> list[Store]:
        merchant_id, page = app.merchant.merchant_id, query.page
        return await self._db.read(
            lambda: catalogue.merchant_stores(
                merchant_id, query.store_name, query.store_id, page.limit, page.offset
            )
        )

    async def cashiers(self, app: App, query: CashierQuery) -> list[Cashier]:
        await self._check_filters(app, query.store_id, None)
        merchant_id, page = app.merchant.merchant_id, query.page
        store_id = query.store_id
        return await self._db.read(
            lambda: catalogue.merchant_cashiers(merchant_id, store_id, page.limit, page.offset)
        )

    async def _check_filters(self, app: App, store_id: int | None, cashier_id: int | None) -> None:
        """A statement of a store or cashier that is not the merchant's is a mistake worth
        saying (an empty statement would read as "no sales"); another merchant's looks exactly
        like one that does not exist."""
        merchant_id = app.merchant.merchant_id
        if store_id is not None:
            store = await self._merchants.store(store_id)
            if store is None or store.merchant_id != merchant_id:
                raise BusinessRuleError(
                    f"门店 store_id={store_id} 不存在或不属于该商户", sub_code="STORE_NOT_FOUND"
                )
        if cashier_id is not None:
            cashier = await self._merchants.cashier(cashier_id)
            owner = None if cashier is None else await self._merchants.store(cashier.store_id)
            if (
                cashier is None
                or owner is None
                or owner.merchant_id != merchant_id
                or (store_id is not None and cashier.store_id != store_id)
            ):
                where = f"门店 {store_id}" if store_id is not None else "该商户"
                raise BusinessRuleError(
                    f"收银员 cashier_id={cashier_id} 不存在或不属于{where}",
                    sub_code="CASHIER_NOT_FOUND",
                )
