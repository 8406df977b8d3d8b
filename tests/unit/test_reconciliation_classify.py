"""The reconciliation classifier, one class at a time (pure: statement lines and records in)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from jubao.channels.base import StatementLine
from jubao.kinds import ChannelName, Scene
from jubao.money import Fen
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.payments.states import OrderState, RefundState
from jubao.reconciliation import days
from jubao.reconciliation.classify import Books, DifferenceKind, classify

DAY = date(2026, 11, 30)
START, END = days.window(DAY)
NOON = START + 12 * 3600 * 1000
PID = "2088000000000042"
_ids = iter(range(1, 1000))


def order(
    sn: str,
    total: int = 100,
    state: OrderState = OrderState.SUCCESS,
    paid_at: int | None = NOON,
    merchant: str = PID,
) -> OrderRecord:
    return OrderRecord(
        order_id=next(_ids),
        order_sn=sn,
        merchant_id=1,
        app_id="app",
        merchant_order_sn=f"m-{sn}",
        fingerprint="",
        store_id=1,
        cashier_id=0,
        channel=ChannelName.ALIPAY,
        scene=Scene.NATIVE,
        channel_merchant_id=merchant,
        channel_app_id=None,
        payer_id=None,
        total_fen=Fen(total),
        body=None,
        attach=None,
        call_back_url=None,
        state=state,
        prepay_id=None,
        prepay_expires_at=None,
        instruction=None,
        channel_trade_no=f"t-{sn}" if paid_at else None,
        paid_at=paid_at,
        refunded_fen=Fen(0),
        refund_count=0,
        expire_at=END,
        created_at=START,
        updated_at=START,
    )


def refund(
    of: OrderRecord,
    sn: str,
    fen: int,
    status: RefundState = RefundState.SUCCESS,
    finished_at: int | None = NOON,
) -> RefundRecord:
    return RefundRecord(
        refund_id=next(_ids),
        refund_sn=sn,
        order_id=of.order_id,
        merchant_refund_sn=sn,
        refund_fen=Fen(fen),
        status=status,
        channel_refund_id=None,
        submitted=True,
        finished_at=finished_at,
        created_at=START,
        updated_at=START,
    )


def paid(sn: str, total: int = 100) -> StatementLine:
    return StatementLine(sn, f"t-{sn}", total, merchant_id=PID)


def refunded(sn: str, refund_sn: str, fen: int, total: int = 100) -> StatementLine:
    return StatementLine(sn, f"t-{sn}", total, fen, refund_sn, merchant_id=PID)


def books(orders: Sequence[OrderRecord], refunds: Sequence[RefundRecord] = ()) -> Books:
    return Books(
        {o.order_sn: o for o in orders},
        {r.refund_sn: r for r in refunds},
        {o.order_id: o for o in orders},
        (START, END),
        frozenset({PID}),
    )


def kinds(lines: list[StatementLine], known: Books) -> list[tuple[DifferenceKind, str, str]]:
    found = classify(lines, known)
    differing = sum(n for kind, n in found.counts.items() if kind != DifferenceKind.MATCHED)
    assert differing == len(found.differences)  # every difference counted once
    return [(d.kind, d.order_sn, d.refund_sn) for d in found.differences]


def test_matched_payments_and_refunds_are_counted_and_nothing_differs() -> None:
    a, b = order("A"), order("B", 250)
    r = refund(b, "RB", 40)
    found = classify([paid("A"), paid("B", 250), refunded("B", "RB", 40, 250)], books([a, b], [r]))
    assert found.differences == ()
    assert found.counts[DifferenceKind.MATCHED] == 3
    assert sum(found.counts.values()) == 3


def test_paid_at_the_channel_only_carries_the_line_to_repair() -> None:
    for state in (OrderState.USERPAYING, OrderState.CLOSED):
        unpaid = order("A", state=state, paid_at=None)
        found = classify([paid("A")], books([unpaid]))
        [difference] = found.differences
        assert difference.kind == DifferenceKind.CHANNEL_ONLY
        assert (difference.channel_fen, difference.jubao_fen) == (100, 100)
        assert difference.line == paid("A") and state.value in difference.detail


def test_paid_in_jubao_only_counts_the_day_and_the_merchants_read() -> None:
    today = order("A")
    yesterday = order("B", paid_at=START - 1)
    tomorrow = order("C", paid_at=END)
    elsewhere = order("D", merchant="2088999999999999")  # its statement was not read
    unpaid = order("E", state=OrderState.USERPAYING, paid_at=None)
    found = kinds([], books([today, yesterday, tomorrow, elsewhere, unpaid]))
    assert found == [(DifferenceKind.JUBAO_ONLY, "A", "")]


def test_amounts_that_differ_are_not_repaired() -> None:
    unpaid = order("A", 100, OrderState.USERPAYING, paid_at=None)
    booked = order("B", 100)
    found = classify([paid("A", 99), paid("B", 101)], books([unpaid, booked]))
    assert [(d.kind, d.channel_fen, d.jubao_fen) for d in found.differences] == [
        (DifferenceKind.AMOUNT_DIFFERS, 99, 100),
        (DifferenceKind.AMOUNT_DIFFERS, 101, 100),
    ]


def test_a_refund_at_the_channel_unknown_or_unfinished_in_jubao() -> None:
    a = order("A")
    processing = refund(a, "R1", 30, RefundState.PROCESSING, finished_at=None)
    failed = refund(a, "R2", 20, RefundState.FAILED)
    lines = [paid("A"), refunded("A", "R1", 30), refunded("A", "R2", 20), refunded("A", "R3", 10)]
    assert kinds(lines, books([a], [processing, failed])) == [
        (DifferenceKind.REFUND_CHANNEL_ONLY, "A", "R1"),
        (DifferenceKind.REFUND_CHANNEL_ONLY, "A", "R2"),
        (DifferenceKind.REFUND_CHANNEL_ONLY, "A", "R3"),
    ]


def test_a_refund_amount_that_differs() -> None:
    a = order("A")
    found = classify([paid("A"), refunded("A", "R1", 31)], books([a], [refund(a, "R1", 30)]))
    [difference] = found.differences
    assert difference.kind == DifferenceKind.AMOUNT_DIFFERS
    assert (difference.refund_sn, difference.channel_fen, difference.jubao_fen) == ("R1", 31, 30)


def test_a_refund_in_jubao_only() -> None:
    a = order("A", paid_at=START - 86_400_000)  # paid the day before, refunded today
    r = refund(a, "R1", 30)
    earlier = refund(a, "R0", 10, finished_at=START - 1)
    open_refund = refund(a, "R2", 5, RefundState.PROCESSING, finished_at=None)
    assert kinds([], books([a], [r, earlier, open_refund])) == [
        (DifferenceKind.REFUND_JUBAO_ONLY, "A", "R1")
    ]


def test_trades_jubao_never_created_are_not_jubao() -> None:
    assert kinds([paid("X"), refunded("Y", "RY", 10)], books([])) == [
        (DifferenceKind.NOT_JUBAO, "X", ""),
        (DifferenceKind.NOT_JUBAO, "Y", "RY"),
    ]


def test_a_reversed_payment_code_matches_the_channel_returning_it_in_full() -> None:
    known_paid = order("A", state=OrderState.REVOKED)
    never_known_paid = order("B", state=OrderState.REVOKED, paid_at=None)  # nothing to repair
    lines = [paid("A"), refunded("A", "", 100), paid("B"), refunded("B", "", 100)]
    found = classify(lines, books([known_paid, never_known_paid]))
    assert found.differences == () and found.counts[DifferenceKind.MATCHED] == 4
    # a partial return of a reversed order is a refund jubao does not know
    assert kinds([paid("A"), refunded("A", "", 60)], books([known_paid])) == [
        (DifferenceKind.REFUND_CHANNEL_ONLY, "A", "")
    ]


def test_the_day_is_china_time() -> None:
    start, end = days.window(date(2026, 1, 2))
    assert end - start == 86_400_000
    assert days.today(start) == date(2026, 1, 2) and days.today(start - 1) == date(2026, 1, 1)
    assert days.due_day(start + 9 * 3_600_000, 10) is None  # 09:00 China: not yet
    assert days.due_day(start + 10 * 3_600_000, 10) == date(2026, 1, 1)
