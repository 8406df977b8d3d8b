"""The classifier: a channel's statement lines for a day against jubao's books. Pure: lines and
records in, classes out; the service fetches, repairs and stores around it.

Every payment line (``refund_fen`` 0) is matched by ``out_trade_no`` (jubao's ``order_sn``), every
refund line by ``out_refund_no`` (jubao's ``refund_sn``). Then what jubao booked for the day (orders
paid, refunds finished in its China-time window, under the merchants whose statements were read)
and no line named is jubao's alone.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jubao.channels.base import StatementLine
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.payments.states import OrderState, RefundState

__all__ = ["Books", "Classification", "Difference", "DifferenceKind", "classify"]


class DifferenceKind(enum.StrEnum):
    """The classes of reconciliation. ``MATCHED`` is counted, never stored."""

    MATCHED = "MATCHED"
    CHANNEL_ONLY = "CHANNEL_ONLY"  # paid at the channel, not paid in jubao: repaired
    JUBAO_ONLY = "JUBAO_ONLY"  # paid in jubao, absent from the channel's statement
    AMOUNT_DIFFERS = "AMOUNT_DIFFERS"  # both know it, with different amounts
    REFUND_CHANNEL_ONLY = "REFUND_CHANNEL_ONLY"  # refunded at the channel, unknown/unfinished here
    REFUND_JUBAO_ONLY = "REFUND_JUBAO_ONLY"  # refunded in jubao, absent from the statement
    NOT_JUBAO = "NOT_JUBAO"  # a trade jubao never created (the merchant's other tills)


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    order_sn: str
    refund_sn: str = ""
    channel_fen: int | None = None  # what the statement says (the refund's amount for refunds)
    jubao_fen: int | None = None  # what jubao booked
    transaction_id: str = ""
    detail: str = ""
    line: StatementLine | None = None  # the statement line behind it, if any (repairs use it)


@dataclass(frozen=True, slots=True)
class Books:
    """What jubao knows that the statement may name or should contain.

    ``orders``/``refunds`` by serial: those the lines name and those booked in the window.
    ``window``: the day in epoch milliseconds, ``[start, end)``. ``merchant_ids``: the channel
    merchants whose statements were read; jubao's own bookings count only for them."""

    orders: Mapping[str, OrderRecord]
    refunds: Mapping[str, RefundRecord]
    orders_by_id: Mapping[int, OrderRecord]
    window: tuple[int, int]
    merchant_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Classification:
    counts: Mapping[DifferenceKind, int]
    differences: Sequence[Difference] = field(default_factory=tuple)


def classify(lines: Iterable[StatementLine], books: Books) -> Classification:
    counts: Counter[DifferenceKind] = Counter({kind: 0 for kind in DifferenceKind})
    differences: list[Difference] = []
    seen_orders: set[str] = set()
    seen_refunds: set[str] = set()

    def found(result: Difference | None) -> None:
        if result is None:
            counts[DifferenceKind.MATCHED] += 1
            return
        counts[result.kind] += 1
        differences.append(result)

    for line in lines:
        if line.refund_fen:
            if line.out_refund_no:
                seen_refunds.add(line.out_refund_no)
            found(_refund_line(line, books))
        else:
            seen_orders.add(line.out_trade_no)
            found(_payment_line(line, books))
    for difference in _booked_only(books, seen_orders, seen_refunds):
        found(difference)
    return Classification(dict(counts), tuple(differences))


def _of_line(
    kind: DifferenceKind, line: StatementLine, detail: str, jubao_fen: int | None = None
) -> Difference:
    return Difference(
        kind,
        line.out_trade_no,
        refund_sn=(line.out_refund_no or "") if line.refund_fen else "",
        channel_fen=line.refund_fen or line.total_fen,
        jubao_fen=jubao_fen,
        transaction_id=line.transaction_id,
        detail=detail,
        line=line,
    )


def _payment_line(line: StatementLine, books: Books) -> Difference | None:
    order = books.orders.get(line.out_trade_no)
    if order is None:
        return _of_line(DifferenceKind.NOT_JUBAO, line, "jubao 没有这笔订单")
    state = f"jubao 订单状态 {order.state.value}"
    if order.total_fen != line.total_fen:
        return _of_line(DifferenceKind.AMOUNT_DIFFERS, line, state, order.total_fen)
    if order.paid_at is None and order.state != OrderState.REVOKED:
        return _of_line(DifferenceKind.CHANNEL_ONLY, line, state, order.total_fen)
    return None  # paid in both books (a reversed payment code: paid, then returned in full)


def _refund_line(line: StatementLine, books: Books) -> Difference | None:
    refund = books.refunds.get(line.out_refund_no or "")
    if refund is None:
        order = books.orders.get(line.out_trade_no)
        if order is None:
            return _of_line(DifferenceKind.NOT_JUBAO, line, "jubao 没有这笔订单")
        if order.state == OrderState.REVOKED and line.refund_fen == order.total_fen:
            return None  # a reversed payment code: the channel returned the money in full
        return _of_line(DifferenceKind.REFUND_CHANNEL_ONLY, line, "jubao 没有这笔退款")
    state = f"jubao 退款状态 {refund.status.value}"
    if refund.refund_fen != line.refund_fen:
        return _of_line(DifferenceKind.AMOUNT_DIFFERS, line, state, refund.refund_fen)
    if refund.status != RefundState.SUCCESS:
        return _of_line(DifferenceKind.REFUND_CHANNEL_ONLY, line, state, refund.refund_fen)
    return None


def _booked_only(
    books: Books, seen_orders: set[str], seen_refunds: set[str]
) -> Iterable[Difference]:
    start, end = books.window

    def ours(order: OrderRecord) -> bool:
        return order.channel_merchant_id in books.merchant_ids

    for order in sorted(books.orders.values(), key=lambda o: o.order_sn):
        paid_in_window = order.paid_at is not None and start <= order.paid_at < end
        if paid_in_window and ours(order) and order.order_sn not in seen_orders:
            yield Difference(
                DifferenceKind.JUBAO_ONLY,
                order.order_sn,
                jubao_fen=order.total_fen,
                transaction_id=order.channel_trade_no or "",
                detail=f"jubao 订单状态 {order.state.value}",
            )
    for refund in sorted(books.refunds.values(), key=lambda r: r.refund_sn):
        owner = books.orders_by_id.get(refund.order_id)
        finished = refund.finished_at is not None and start <= refund.finished_at < end
        if (
            owner is not None
            and ours(owner)
            and refund.status == RefundState.SUCCESS
            and finished
            and refund.refund_sn not in seen_refunds
        ):
            yield Difference(
                DifferenceKind.REFUND_JUBAO_ONLY,
                owner.order_sn,
                refund.refund_sn,
                jubao_fen=refund.refund_fen,
                detail="jubao 退款成功",
            )
