"""Units of work for orders, refunds, the order timeline and the notification outbox.

Every state change is a compare-and-set on the current state, and the outbox row a change causes
is written in the same unit, so it commits with it or not at all. What a notification says is the
service's business: it hands the unit a function that renders the payload from the changed order,
so storage never imports a view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.observe.metrics import ORDER_EVENTS, labelled
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.payments.states import (
    OrderState,
    PaymentOutcome,
    RefundReservation,
    RefundSettlement,
    RefundState,
    can_transition,
)
from jubao.protocol import jsonwire
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one

__all__ = [
    "NewOrder",
    "OrderPayload",
    "PaymentFacts",
    "RefundFacts",
    "RefundPayload",
    "add_event",
    "begin_revoke",
    "close_order",
    "decline_order",
    "expired_orders",
    "find_merchant_refund",
    "find_order",
    "find_order_by_id",
    "find_order_by_sn",
    "find_refund",
    "finish_revoke",
    "insert_order",
    "mark_paid",
    "mark_refund_submitted",
    "order_refunds",
    "payment_codes_to_settle",
    "reserve_refund",
    "settle_refund",
    "stale_refunds",
    "store_instruction",
    "touch_order",
    "touch_refund",
    "unpaid_orders_to_check",
]

OrderPayload = Callable[[OrderRecord], dict[str, Any]]
RefundPayload = Callable[[OrderRecord, RefundRecord], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class NewOrder:
    order_sn: str
    merchant_id: int
    app_id: str
    merchant_order_sn: str
    fingerprint: str
    store_id: int
    cashier_id: int
    channel: ChannelName
    scene: Scene
    channel_merchant_id: str
    channel_app_id: str | None
    payer_id: str | None
    total_fen: int
    body: str | None
    attach: str | None
    call_back_url: str | None
    expire_at: int
    api_version: ApiVersion = ApiVersion.V1
    vendor_sn: str | None = None


def add_event(order_id: int, now: int, kind: str, detail: str = "") -> Tx[None]:
    # counted as the unit runs: a unit whose commit then fails (rare) is still counted
    labelled(ORDER_EVENTS, kind).inc()
    yield execute(
        "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?, ?, ?, ?)",
        order_id,
        now,
        kind,
        detail,
    )


_ORDER_COLUMNS = (
    "order_sn, merchant_id, app_id, merchant_order_sn, fingerprint, store_id, cashier_id, "
    "channel, scene, channel_merchant_id, channel_app_id, payer_id, total_fen, body, attach, "
    "call_back_url, state, expire_at, created_at, updated_at, api_version, vendor_sn"
)
_INSERT_ORDER = (
    f"INSERT INTO orders ({_ORDER_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING RETURNING *"
)


@functools.lru_cache(maxsize=16)
def _with_event(write: str, kind: str) -> str:
    """PostgreSQL: ``write`` (``... RETURNING *``) and its order event as one statement, so the
    unit needs no ``BEGIN``/``COMMIT`` round trips; the statement answers the written row."""
    return (
        f"WITH written AS ({write}), event AS ("
        "INSERT INTO order_events (order_id, at, kind, detail) "
        f"SELECT order_id, CAST(? AS BIGINT), '{kind}', CAST(? AS TEXT) FROM written) "
        "SELECT * FROM written"
    )


def _written_with_event(
    dialect: str, write: str, values: tuple[Any, ...], now: int, kind: str, detail: str
) -> Tx[Row | None]:
    """``write`` (at most one row, ``... RETURNING *``) and, when it wrote that row, the row's
    order event, committed together: on PostgreSQL one statement run ``alone``, elsewhere two
    statements of the unit. Returns the written row."""
    if dialect == "postgresql":
        row = (yield fetch_one(_with_event(write, kind), *values, now, detail, alone=True)).first
        if row is not None:
            labelled(ORDER_EVENTS, kind).inc()  # as add_event counts
        return row
    row = (yield fetch_one(write, *values)).first
    if row is not None:
        yield from add_event(row["order_id"], now, kind, detail)
    return row


def insert_order(
    order: NewOrder, now: int, dialect: str = "sqlite"
) -> Tx[tuple[OrderRecord, bool] | None]:
    """Insert, or return the existing order with this merchant_order_sn.

    ``None`` means the generated order_sn collided with another order: draw a new one.
    """
    values = (
        order.order_sn,
        order.merchant_id,
        order.app_id,
        order.merchant_order_sn,
        order.fingerprint,
        order.store_id,
        order.cashier_id,
        order.channel.value,
        order.scene.value,
        order.channel_merchant_id,
        order.channel_app_id,
        order.payer_id,
        order.total_fen,
        order.body,
        order.attach,
        order.call_back_url,
        OrderState.USERPAYING.value,
        order.expire_at,
        now,
        now,
        order.api_version.value,
        order.vendor_sn,
    )
    detail = f"{order.total_fen} 分"
    row = yield from _written_with_event(dialect, _INSERT_ORDER, values, now, "CREATED", detail)
    if row is not None:
        return OrderRecord.from_row(row), True
    existing = (
        yield fetch_one(
            "SELECT * FROM orders WHERE merchant_id = ? AND merchant_order_sn = ?",
            order.merchant_id,
            order.merchant_order_sn,
        )
    ).first
    return (OrderRecord.from_row(existing), False) if existing else None


def find_order_by_sn(order_sn: str) -> Tx[OrderRecord | None]:
    row = (yield fetch_one("SELECT * FROM orders WHERE order_sn = ?", order_sn)).first
    return OrderRecord.from_row(row) if row else None


def find_order_by_id(order_id: int) -> Tx[OrderRecord | None]:
    row = (yield fetch_one("SELECT * FROM orders WHERE order_id = ?", order_id)).first
    return OrderRecord.from_row(row) if row else None


def _order(order_id: int) -> Tx[OrderRecord]:
    order = yield from find_order_by_id(order_id)
    assert order is not None  # callers hold an id they just read or wrote
    return order


def find_order(
    merchant_id: int, *, order_sn: str | None = None, merchant_order_sn: str | None = None
) -> Tx[OrderRecord | None]:
    if order_sn:
        row = (
            yield fetch_one(
                "SELECT * FROM orders WHERE order_sn = ? AND merchant_id = ?", order_sn, merchant_id
            )
        ).first
        if row is None or not merchant_order_sn or row["merchant_order_sn"] == merchant_order_sn:
            return OrderRecord.from_row(row) if row else None
        return None
    row = (
        yield fetch_one(
            "SELECT * FROM orders WHERE merchant_id = ? AND merchant_order_sn = ?",
            merchant_id,
            merchant_order_sn,
        )
    ).first
    return OrderRecord.from_row(row) if row else None


def store_instruction(
    order_id: int,
    previous_prepay_id: str | None,
    prepay_id: str | None,
    prepay_expires_at: int,
    instruction: str,
    now: int,
    dialect: str = "sqlite",
) -> Tx[OrderRecord]:
    """Record the channel's payment instruction unless another request already did (compare-and-
    set on the prepay id it replaces); return the order as stored, so every caller answers alike."""
    args: tuple[str, ...] = ()
    condition = "prepay_id IS NULL AND instruction IS NULL"
    if previous_prepay_id is not None:
        condition, args = "prepay_id = ?", (previous_prepay_id,)
    update = (
        "UPDATE orders SET prepay_id = ?, prepay_expires_at = ?, instruction = ?, updated_at = ? "
        f"WHERE order_id = ? AND {condition} RETURNING *"
    )
    values = (prepay_id, prepay_expires_at, instruction, now, order_id, *args)
    row = yield from _written_with_event(dialect, update, values, now, "PREPAY", prepay_id or "")
    if row is not None:
        return OrderRecord.from_row(row)
    return (yield from _order(order_id))


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the channel reported about a successful payment."""

    channel: ChannelName
    order_sn: str
    transaction_id: str
    paid_at: int
    payer_id: str | None
    total_fen: int | None
    merchant_id: str | None  # the sub-merchant the channel names, when it names one
    source: str  # "notification" or "query"


def mark_paid(
    facts: PaymentFacts, now: int, payload: OrderPayload
) -> Tx[tuple[PaymentOutcome, OrderRecord | None]]:
    """Move an order to SUCCESS once and queue the merchant's notification with it. An amount
    that is missing or differs, or another sub-merchant's name, is refused and noted on the
    timeline: a correctly signed but wrong report must not pay an order."""
    order = yield from find_order_by_sn(facts.order_sn)
    if order is None or order.channel != facts.channel:
        return PaymentOutcome.UNKNOWN, None
    if facts.total_fen != order.total_fen:
        yield from add_event(
            order.order_id,
            now,
            "PAYMENT_REFUSED",
            f"金额不符：通道 {facts.total_fen} 分，订单 {order.total_fen} 分",
        )
        return PaymentOutcome.AMOUNT_MISMATCH, order
    if facts.merchant_id is not None and facts.merchant_id != order.channel_merchant_id:
        yield from add_event(
            order.order_id,
            now,
            "PAYMENT_REFUSED",
            f"子商户不符：通道 {facts.merchant_id}，订单 {order.channel_merchant_id}",
        )
        return PaymentOutcome.MERCHANT_MISMATCH, order
    previous = order.state
    if not can_transition(previous, OrderState.SUCCESS):  # already paid
        return PaymentOutcome.DUPLICATE, order
    result = yield execute(
        "UPDATE orders SET state = ?, channel_trade_no = ?, payer_id = ?, paid_at = ?, "
        "updated_at = ? WHERE order_id = ? AND state = ?",
        OrderState.SUCCESS.value,
        facts.transaction_id,
        facts.payer_id or order.payer_id,
        facts.paid_at,
        now,
        order.order_id,
        previous.value,
    )
    if result.rowcount != 1:
        # PostgreSQL: a concurrent unit (the channel's notification racing a payment code's own
        # answer) paid it first; answer the order as it now stands, not as read before
        return PaymentOutcome.DUPLICATE, (yield from _order(order.order_id))
    detail = f"{facts.transaction_id} via {facts.source}"
    if previous == OrderState.CLOSED:
        detail += "; 订单已关闭后收到支付成功，已改为支付成功，请商户处理（可退款）"
    yield from add_event(order.order_id, now, "PAID", detail)
    paid = yield from _order(order.order_id)
    yield from enqueue_notification(paid, "PAYMENT", payload(paid), now)
    return PaymentOutcome.PAID, paid


def enqueue_notification(
    order: OrderRecord, kind: str, data: dict[str, Any], now: int
) -> Tx[int | None]:
    """Write the outbox row for a merchant notification (same transaction as the change).
    1.0: to the order's ``call_back_url`` or the app's callback; refund notifications only to
    apps that opted in (``apps.refund_notify``). 2.0: payments to the order's ``notify_url`` or
    the merchant's configured pay callback, refunds to its refund callback (if configured)."""
    if order.api_version == ApiVersion.V2:
        url = yield from _v2_callback(order, kind)
        if url is None and kind == "REFUND":
            return None
    else:
        url = order.call_back_url
        app = (
            yield fetch_one(
                "SELECT callback_url, refund_notify FROM apps WHERE app_id = ?", order.app_id
            )
        ).first
        if kind == "REFUND" and not (app and app["refund_notify"]):
            return None
        if not url:
            url = app["callback_url"] if app else None
    if not url:
        yield from add_event(order.order_id, now, "NOTIFY_SKIPPED", "没有回调地址")
        return None
    row = (
        yield fetch_one(
            "INSERT INTO notifications (order_id, app_id, vendor_sn, kind, url, payload, status, "
            "attempts, next_attempt_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?) "
            "RETURNING notification_id",
            order.order_id,
            order.app_id,
            order.vendor_sn,
            kind,
            url,
            jsonwire.dumps(data),
            now,
            now,
            now,
        )
    ).first
    assert row is not None
    return int(row["notification_id"])


def _v2_callback(order: OrderRecord, kind: str) -> Tx[str | None]:
    row = (
        yield fetch_one(
            "SELECT pay_url, refund_url FROM merchant_callbacks WHERE merchant_id = ?",
            order.merchant_id,
        )
    ).first
    if kind == "REFUND":
        return row["refund_url"] if row else None
    return order.call_back_url or (row["pay_url"] if row else None)


def close_order(order_id: int, reason: str, now: int) -> Tx[OrderRecord]:
    """USERPAYING -> CLOSED; returns the order as it now stands (maybe paid meanwhile)."""
    result = yield execute(
        "UPDATE orders SET state = ?, updated_at = ? WHERE order_id = ? AND state = ?",
        OrderState.CLOSED.value,
        now,
        order_id,
        OrderState.USERPAYING.value,
    )
    if result.rowcount == 1:
        yield from add_event(order_id, now, "CLOSED", reason)
    return (yield from _order(order_id))


def find_refund(
    order_id: int, *, refund_sn: str | None = None, merchant_refund_sn: str | None = None
) -> Tx[RefundRecord | None]:
    if refund_sn:
        query = fetch_one(
            "SELECT * FROM refunds WHERE order_id = ? AND refund_sn = ?", order_id, refund_sn
        )
    else:
        query = fetch_one(
            "SELECT * FROM refunds WHERE order_id = ? AND merchant_refund_sn = ?",
            order_id,
            merchant_refund_sn,
        )
    row = (yield query).first
    return RefundRecord.from_row(row) if row else None


def find_merchant_refund(
    merchant_id: int, *, refund_sn: str | None = None, merchant_refund_sn: str | None = None
) -> Tx[tuple[OrderRecord, RefundRecord] | None]:
    """A merchant's refund by jubao's number, else the latest with the merchant's number."""
    column, value = "refund_sn", refund_sn
    if not refund_sn:
        column, value = "merchant_refund_sn", merchant_refund_sn
    row = (
        yield fetch_one(
            "SELECT r.* FROM refunds r JOIN orders o ON o.order_id = r.order_id "
            f"WHERE o.merchant_id = ? AND r.{column} = ? ORDER BY r.refund_id DESC LIMIT 1",
            merchant_id,
            value,
        )
    ).first
    if row is None:
        return None
    refund = RefundRecord.from_row(row)
    return (yield from _order(refund.order_id)), refund


def order_refunds(order_id: int) -> Tx[list[RefundRecord]]:
    rows = (
        yield fetch_all("SELECT * FROM refunds WHERE order_id = ? ORDER BY refund_id", order_id)
    ).rows
    return [RefundRecord.from_row(row) for row in rows]


def reserve_refund(
    order_id: int,
    refund_sn: str,
    merchant_refund_sn: str,
    amount_fen: int | None,
    now: int,
) -> Tx[tuple[RefundReservation, RefundRecord | None]]:
    """Reserve ``amount_fen`` (``None``: the whole remainder) of a paid order for a refund.

    The reservation is one conditional UPDATE, so concurrent refunds can never take more than was
    paid on either database; the CHECK constraint on orders backs it up.
    """
    # Take the order's row lock first (a no-op write; SQLite's writer is serial anyway). On
    # PostgreSQL concurrent reservations of one order queue here, and each reads what the one
    # before it committed: a retry with the same merchant_refund_sn then finds that refund instead
    # of being refused for the amount it reserved itself.
    yield execute("UPDATE orders SET refund_count = refund_count WHERE order_id = ?", order_id)
    existing = yield from find_refund(order_id, merchant_refund_sn=merchant_refund_sn)
    if existing is not None:
        return RefundReservation.EXISTING, existing
    order = yield from _order(order_id)
    if order.state != OrderState.SUCCESS:
        return RefundReservation.NOT_PAID, None
    if order.refund_count >= 10:
        return RefundReservation.TOO_MANY, None
    remaining = order.total_fen - order.refunded_fen
    if amount_fen is None:
        if remaining <= 0:
            return RefundReservation.NOTHING_LEFT, None
        amount, guard, guard_arg = remaining, "refunded_fen = ?", int(order.refunded_fen)
    else:
        if amount_fen > remaining:
            return RefundReservation.EXCEEDS, None
        amount, guard, guard_arg = amount_fen, "refunded_fen + ? <= total_fen", amount_fen
    result = yield execute(
        "UPDATE orders SET refunded_fen = refunded_fen + ?, refund_count = refund_count + 1, "
        "updated_at = ? WHERE order_id = ? AND state = ? AND refund_count < 10 AND "
        f"{guard}",
        amount,
        now,
        order_id,
        OrderState.SUCCESS.value,
        guard_arg,
    )
    if result.rowcount != 1:  # pragma: no cover - the row lock above serialises reservations
        return RefundReservation.EXCEEDS, None
    yield execute(
        "INSERT INTO refunds (refund_sn, order_id, merchant_refund_sn, refund_fen, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        refund_sn,
        order_id,
        merchant_refund_sn,
        amount,
        RefundState.PROCESSING.value,
        now,
        now,
    )
    yield from add_event(order_id, now, "REFUND_REQUESTED", f"{refund_sn}: {amount} 分")
    refund = yield from find_refund(order_id, refund_sn=refund_sn)
    return RefundReservation.RESERVED, refund


def mark_refund_submitted(refund_id: int, channel_refund_id: str | None, now: int) -> Tx[None]:
    yield execute(
        "UPDATE refunds SET submitted = 1, channel_refund_id = COALESCE(?, channel_refund_id), "
        "updated_at = ? WHERE refund_id = ?",
        channel_refund_id,
        now,
        refund_id,
    )


@dataclass(frozen=True, slots=True)
class RefundFacts:
    """What the channel reported about a refund; ``None`` where it did not say."""

    refund_sn: str
    outcome: RefundState
    channel_refund_id: str | None = None
    order_sn: str | None = None
    refund_fen: int | None = None


def settle_refund(
    facts: RefundFacts, now: int, payload: RefundPayload
) -> Tx[tuple[RefundSettlement, RefundRecord | None]]:
    """PROCESSING -> SUCCESS or FAILED, once. A failed refund returns its amount to the order.
    The merchant's refund notification (where the app wants them) is written in the same unit.
    A report whose order or amount contradicts the refund changes nothing but the timeline."""
    refund_sn, outcome, channel_refund_id = facts.refund_sn, facts.outcome, facts.channel_refund_id
    row = (yield fetch_one("SELECT * FROM refunds WHERE refund_sn = ?", refund_sn)).first
    if row is None:
        return RefundSettlement.UNKNOWN, None
    refund = RefundRecord.from_row(row)
    order = yield from _order(refund.order_id)
    wrong = []
    if facts.order_sn is not None and facts.order_sn != order.order_sn:
        wrong.append(f"订单号 {facts.order_sn[:40]}")
    if facts.refund_fen is not None and facts.refund_fen != refund.refund_fen:
        wrong.append(f"金额 {facts.refund_fen} 分（应为 {refund.refund_fen} 分）")
    if wrong:
        yield from add_event(
            refund.order_id, now, "REFUND_REPORT_REFUSED", f"{refund_sn}: {'，'.join(wrong)}"
        )
        return RefundSettlement.MISMATCH, refund
    if refund.status != RefundState.PROCESSING or outcome == RefundState.PROCESSING:
        return RefundSettlement.UNCHANGED, refund
    result = yield execute(
        "UPDATE refunds SET status = ?, channel_refund_id = COALESCE(?, channel_refund_id), "
        "submitted = 1, finished_at = ?, updated_at = ? WHERE refund_id = ? AND status = ?",
        outcome.value,
        channel_refund_id,
        now,
        now,
        refund.refund_id,
        RefundState.PROCESSING.value,
    )
    if result.rowcount != 1:  # pragma: no cover - serialised on SQLite
        return RefundSettlement.UNCHANGED, refund
    if outcome == RefundState.FAILED:
        yield execute(
            "UPDATE orders SET refunded_fen = refunded_fen - ?, refund_count = refund_count - 1, "
            "updated_at = ? WHERE order_id = ?",
            refund.refund_fen,
            now,
            refund.order_id,
        )
    yield from add_event(refund.order_id, now, f"REFUND_{outcome.value}", refund_sn)
    settled_row = (
        yield fetch_one("SELECT * FROM refunds WHERE refund_id = ?", refund.refund_id)
    ).first
    assert settled_row is not None
    settled = RefundRecord.from_row(settled_row)
    order = yield from _order(refund.order_id)  # refunded_fen as it now stands
    yield from enqueue_notification(order, "REFUND", payload(order, settled), now)
    return RefundSettlement.SETTLED, settled


def expired_orders(now: int, limit: int) -> Tx[list[OrderRecord]]:
    rows = (
        yield fetch_all(
            "SELECT * FROM orders WHERE state = ? AND expire_at <= ? ORDER BY expire_at LIMIT ?",
            OrderState.USERPAYING.value,
            now,
            limit,
        )
    ).rows
    return [OrderRecord.from_row(row) for row in rows]


def stale_refunds(older_than: int, limit: int) -> Tx[list[RefundRecord]]:
    rows = (
        yield fetch_all(
            "SELECT * FROM refunds WHERE status = ? AND updated_at <= ? "
            "ORDER BY updated_at LIMIT ?",
            RefundState.PROCESSING.value,
            older_than,
            limit,
        )
    ).rows
    return [RefundRecord.from_row(row) for row in rows]


def touch_refund(refund_id: int, now: int) -> Tx[None]:
    yield execute("UPDATE refunds SET updated_at = ? WHERE refund_id = ?", now, refund_id)


def unpaid_orders_to_check(older_than: int, limit: int) -> Tx[list[OrderRecord]]:
    """Unpaid orders the channel knows about (an instruction was stored), not looked at since
    ``older_than``, oldest first."""
    rows = (
        yield fetch_all(
            "SELECT * FROM orders WHERE state = ? AND instruction IS NOT NULL AND updated_at <= ? "
            "ORDER BY updated_at LIMIT ?",
            OrderState.USERPAYING.value,
            older_than,
            limit,
        )
    ).rows
    return [OrderRecord.from_row(row) for row in rows]


def touch_order(order_id: int, now: int) -> Tx[None]:
    yield execute(
        "UPDATE orders SET updated_at = ? WHERE order_id = ? AND state = ?",
        now,
        order_id,
        OrderState.USERPAYING.value,
    )


def decline_order(order_id: int, declined: str, reason: str, now: int) -> Tx[OrderRecord]:
    """The channel refused the payer's payment code: store the refusal (identical retries
    answer it again) and close the order, once."""
    result = yield execute(
        "UPDATE orders SET state = ?, instruction = ?, updated_at = ? "
        "WHERE order_id = ? AND state = ? AND instruction IS NULL",
        OrderState.CLOSED.value,
        declined,
        now,
        order_id,
        OrderState.USERPAYING.value,
    )
    if result.rowcount == 1:
        yield from add_event(order_id, now, "DECLINED", reason)
    return (yield from _order(order_id))


_REVOCABLE = (OrderState.USERPAYING, OrderState.SUCCESS, OrderState.REVOKED_ERROR)


def begin_revoke(order_id: int, reason: str, now: int) -> Tx[OrderRecord]:
    """USERPAYING / SUCCESS / REVOKED_ERROR -> REVOKING, committed before the channel is asked
    (a crash then leaves REVOKING, which maintenance finishes). Returns the order as it stands."""
    marks = ", ".join("?" * len(_REVOCABLE))
    result = yield execute(
        f"UPDATE orders SET state = ?, updated_at = ? WHERE order_id = ? AND state IN ({marks})",
        OrderState.REVOKING.value,
        now,
        order_id,
        *(state.value for state in _REVOCABLE),
    )
    if result.rowcount == 1:
        yield from add_event(order_id, now, "REVOKING", reason)
    return (yield from _order(order_id))


def finish_revoke(order_id: int, outcome: OrderState, detail: str, now: int) -> Tx[OrderRecord]:
    """REVOKING (or USERPAYING, when the channel reports the reverse itself) -> REVOKED or
    REVOKED_ERROR, once."""
    assert outcome in (OrderState.REVOKED, OrderState.REVOKED_ERROR)
    sources = [OrderState.REVOKING.value]
    if outcome == OrderState.REVOKED:
        sources += [OrderState.USERPAYING.value, OrderState.REVOKED_ERROR.value]
    marks = ", ".join("?" * len(sources))
    result = yield execute(
        f"UPDATE orders SET state = ?, updated_at = ? WHERE order_id = ? AND state IN ({marks})",
        outcome.value,
        now,
        order_id,
        *sources,
    )
    if result.rowcount == 1:
        yield from add_event(order_id, now, outcome.value, detail)
    return (yield from _order(order_id))


def payment_codes_to_settle(
    abandoned_before: int, stuck_before: int, limit: int
) -> Tx[list[OrderRecord]]:
    """Payment-code orders the gateway must finish itself: still waiting for the payer since
    before ``abandoned_before`` (to query, then reverse), or REVOKING since before
    ``stuck_before`` (the reverse's answer was lost: ask again)."""
    rows = (
        yield fetch_all(
            "SELECT * FROM orders WHERE scene = ? AND ((state = ? AND created_at <= ?) "
            "OR (state = ? AND updated_at <= ?)) ORDER BY updated_at LIMIT ?",
            Scene.BARCODE.value,
            OrderState.USERPAYING.value,
            abandoned_before,
            OrderState.REVOKING.value,
            stuck_before,
            limit,
        )
    ).rows
    return [OrderRecord.from_row(row) for row in rows]
