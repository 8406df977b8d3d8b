"""The statement queries (``payments/statements.py``) on SQLite and PostgreSQL, with orders at
chosen instants: China-time day boundaries, the bill window's edges (``end_time``'s whole second
inside), refunds by their success time, exact sums over many pages, and the indexes of
migration 0009 in the query plan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from functools import partial

import pytest

from jubao.clock import CHINA
from jubao.kinds import ChannelName, Scene
from jubao.merchants import repository as merchant_repo
from jubao.payments import repository as repo
from jubao.payments import statements
from jubao.payments.states import OrderState, RefundState
from jubao.payments.views import order_view, refund_view
from jubao.protocol import statement_methods
from jubao.protocol.statement_methods import parse_bill, parse_reconciliation
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Query, Tx, fetch_all

BEIJING = timezone(timedelta(hours=8))


def ms(text: str) -> int:
    """``yyyy-MM-dd HH:mm:ss.fff`` Beijing time as epoch milliseconds."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=BEIJING)
    return int(moment.timestamp() * 1000)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()


class Shop:
    def __init__(self, db: Database, merchant_id: int, store_id: int) -> None:
        self.db, self.merchant_id, self.store_id = db, merchant_id, store_id
        self.count = 0

    @classmethod
    async def open(cls, db: Database, name: str) -> Shop:
        merchant = await db.write(lambda: merchant_repo.insert_merchant(name, "s", "a", 0))
        store = await db.write(lambda: merchant_repo.insert_store(merchant.merchant_id, "s", 0))
        return cls(db, merchant.merchant_id, store.store_id)

    async def order(self, created: int, fen: int, paid: int | None = None) -> str:
        self.count += 1
        sn = f"{self.merchant_id:04d}{self.count:016d}"
        new = repo.NewOrder(
            order_sn=sn, merchant_id=self.merchant_id, app_id="app", merchant_order_sn=sn,
            fingerprint="f", store_id=self.store_id, cashier_id=0, channel=ChannelName.ALIPAY,
            scene=Scene.BARCODE, channel_merchant_id="s", channel_app_id=None, payer_id=None,
            total_fen=fen, body=None, attach=None, call_back_url=None, expire_at=10**13,
        )  # fmt: skip
        assert await self.db.write(lambda: repo.insert_order(new, created)) is not None
        if paid is not None:
            facts = repo.PaymentFacts(ChannelName.ALIPAY, sn, f"t{sn}", paid, None, fen, None, "q")
            outcome, _ = await self.db.write(lambda: repo.mark_paid(facts, paid, order_view))
            assert outcome == "paid"
        return sn

    async def order_id(self, order_sn: str) -> int:
        order = await self.db.read(lambda: repo.find_order_by_sn(order_sn))
        assert order is not None
        return order.order_id

    async def revoke(self, order_sn: str, *, finished: bool) -> None:
        order_id = await self.order_id(order_sn)
        await self.db.write(lambda: repo.begin_revoke(order_id, "test", 0))
        if finished:
            await self.db.write(lambda: repo.finish_revoke(order_id, OrderState.REVOKED, "test", 0))

    async def refund(self, order_sn: str, fen: int, finished: int) -> None:
        order_id = await self.order_id(order_sn)
        refund_sn = f"r{order_sn}{fen}"
        outcome, _ = await self.db.write(
            lambda: repo.reserve_refund(order_id, refund_sn, refund_sn, fen, finished)
        )
        assert outcome == "reserved"
        facts = repo.RefundFacts(refund_sn, RefundState.SUCCESS)
        await self.db.write(lambda: repo.settle_refund(facts, finished, refund_view))


async def test_the_reconciliation_day_is_the_china_day(db: Database) -> None:
    shop = await Shop.open(db, "m")
    before = await shop.order(ms("2026-03-09 23:59:59.999"), 1, paid=ms("2026-03-10 00:00:01.0"))
    first = await shop.order(ms("2026-03-10 00:00:00.000"), 2, paid=ms("2026-03-10 00:00:02.0"))
    unpaid = await shop.order(ms("2026-03-10 12:00:00.000"), 3)
    last = await shop.order(ms("2026-03-10 23:59:59.999"), 4, paid=ms("2026-03-11 00:00:03.0"))
    await shop.order(ms("2026-03-11 00:00:00.000"), 5, paid=ms("2026-03-11 00:00:04.0"))
    day = {"year": "2026", "month": "3", "day": "10"}

    paid = await db.read(
        partial(statements.reconciliation_lines, shop.merchant_id, parse_reconciliation(day))
    )
    assert [line.order_sn for line in paid] == [first, last]
    every = await db.read(
        lambda: statements.reconciliation_lines(
            shop.merchant_id, parse_reconciliation({**day, "type": "1"})
        )
    )
    assert [(line.order_sn, line.paid) for line in every] == [
        (first, True), (unpaid, False), (last, True)
    ]  # fmt: skip
    assert before not in [line.order_sn for line in every]


async def test_the_bill_window_holds_end_times_whole_second(db: Database) -> None:
    shop = await Shop.open(db, "m")
    other = await Shop.open(db, "other")
    created = ms("2026-03-10 07:00:00.000")
    await shop.order(created, 1, paid=ms("2026-03-10 07:59:59.999"))  # before
    at_start = await shop.order(created, 20, paid=ms("2026-03-10 08:00:00.000"))
    at_end = await shop.order(created, 300, paid=ms("2026-03-10 09:00:00.999"))
    await shop.order(created, 4000, paid=ms("2026-03-10 09:00:01.000"))  # after
    await other.order(created, 50000, paid=ms("2026-03-10 08:30:00.000"))  # not theirs
    reversing = await shop.order(created, 600000, paid=ms("2026-03-10 08:40:00.000"))
    await shop.revoke(reversing, finished=False)  # REVOKING: the payer's money is still here
    reversed_ = await shop.order(created, 7000000, paid=ms("2026-03-10 08:50:00.000"))
    await shop.revoke(reversed_, finished=True)  # REVOKED: the money went back
    request = parse_bill({"start_time": "2026-03-10 08:00:00", "end_time": "2026-03-10 09:00:00"})
    await shop.refund(at_start, 7, ms("2026-03-10 08:59:00.000"))  # inside
    await shop.refund(at_end, 11, ms("2026-03-10 09:00:01.000"))  # after the window

    bill = await db.read(lambda: statements.read_bill(shop.merchant_id, request))
    assert [line.order_sn for line in bill.lines] == [at_start, reversing, at_end]
    assert (bill.paid_count, bill.paid_fen) == (3, 600320)
    assert (bill.refund_count, bill.refund_fen) == (1, 7)


async def test_exact_sums_over_many_pages(db: Database) -> None:
    shop = await Shop.open(db, "m")
    base = ms("2026-03-10 10:00:00.000")
    for fen in range(1, 151):  # 0.01 .. 1.50 yuan: 113.25 in all
        await shop.order(base + fen, fen, paid=base + 1000 + fen)
    day = {"year": 2026, "month": 3, "day": 10, "limit": 100}
    pages = [
        await db.read(
            partial(statements.reconciliation_lines, shop.merchant_id,
                    parse_reconciliation({**day, "page": page}))
        )
        for page in (1, 2, 3)
    ]  # fmt: skip
    assert [len(page) for page in pages] == [100, 50, 0]
    assert sum(line.total_fen for page in pages for line in page) == 11325
    bill = await db.read(
        lambda: statements.read_bill(
            shop.merchant_id,
            parse_bill({"start_time": "2026-03-10 10:00:00", "end_time": "2026-03-10 10:59:59",
                        "limit": 100, "page": 2}),
        )
    )  # fmt: skip
    assert (bill.paid_count, bill.paid_fen, len(bill.lines)) == (150, 11325, 50)


def first_query(unit: Tx[object]) -> Query:
    """The first statement a unit of work would run."""
    return next(unit)


async def test_the_statement_queries_use_the_merchant_indexes(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan is checked on SQLite; PostgreSQL picks by statistics")
    bill = parse_bill({"start_time": "2026-03-10 08:00:00", "end_time": "2026-03-10 09:00:00"})
    day = parse_reconciliation({"year": 2026, "month": 3, "day": 10, "type": 1})
    queries = {
        "orders_merchant_paid": first_query(statements.bill_lines(1, bill)),
        "orders_merchant_created": first_query(statements.reconciliation_lines(1, day)),
        "refunds_status_finished": first_query(statements.refund_summary(1, bill)),
    }
    database = await open_database(database_url)
    try:
        for index, query in queries.items():

            def plan(query: Query = query) -> Tx[str]:
                rows = (yield fetch_all("EXPLAIN QUERY PLAN " + query.sql, *query.params)).rows
                return " ".join(str(row["detail"]) for row in rows)

            assert index in await database.read(plan), query.sql
    finally:
        await database.close()


def test_statement_times_are_the_servers_china_time() -> None:
    """protocol spells China time itself (it ships with the SDK); it must be clock's."""
    assert statement_methods.CHINA.utcoffset(None) == CHINA.utcoffset(None)
