"""Units of work for orders, refunds, the order timeline and the notification outbox.

Every state change is a compare-and-set on the current state, and the outbox row a change causes
is written in the same unit, so it commits with it or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jubao.payments.states import OrderState, RefundState, can_transition
from jubao.payments.views import order_view, refund_view
from jubao.protocol import jsonwire
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one

__all__ = [
    "NewOrder",
    "PaymentFacts",
    "close_order",
    "find_order",
    "find_order_by_sn",
    "find_refund",
    "insert_order",
    "mark_paid",
    "order_refunds",
    "reserve_refund",
    "settle_refund",
    "store_prepay",
]


@dataclass(frozen=True, slots=True)
class NewOrder:
    order_sn: str
    merchant_id: int
    app_id: str
    merchant_order_sn: str
    fingerprint: str
    store_id: int
    cashier_id: int
    sub_mchid: str
    sub_appid: str
    sub_openid: str
    total_fen: int
    body: str | None
    attach: str | None
    call_back_url: str | None
    expire_at: int


def add_event(order_id: int, now: int, kind: str, detail: str = "") -> Tx[None]:
    yield execute(
        "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?, ?, ?, ?)",
        order_id,
        now,
        kind,
        detail,
    )


def insert_order(order: NewOrder, now: int) -> Tx[tuple[Row, bool] | None]:
    """Insert, or return the existing order with this merchant_order_sn.

    ``None`` means the generated order_sn collided with another order: draw a new one.
    """
    inserted = yield fetch_one(
        "INSERT INTO orders (order_sn, merchant_id, app_id, merchant_order_sn, fingerprint, "
        "store_id, cashier_id, sub_mchid, sub_appid, sub_openid, total_fen, body, attach, "
        "call_back_url, state, expire_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING *",
        order.order_sn,
        order.merchant_id,
        order.app_id,
        order.merchant_order_sn,
        order.fingerprint,
        order.store_id,
        order.cashier_id,
        order.sub_mchid,
        order.sub_appid,
        order.sub_openid,
        order.total_fen,
        order.body,
        order.attach,
        order.call_back_url,
        OrderState.USERPAYING.value,
        order.expire_at,
        now,
        now,
    )
    row = inserted.first
    if row is not None:
        yield from add_event(row["order_id"], now, "CREATED", f"{order.total_fen} 分")
        return row, True
    existing = (
        yield fetch_one(
            "SELECT * FROM orders WHERE merchant_id = ? AND merchant_order_sn = ?",
            order.merchant_id,
            order.merchant_order_sn,
        )
    ).first
    return (existing, False) if existing else None


def find_order_by_sn(order_sn: str) -> Tx[Row | None]:
    return (yield fetch_one("SELECT * FROM orders WHERE order_sn = ?", order_sn)).first


def find_order(
    merchant_id: int, *, order_sn: str | None = None, merchant_order_sn: str | None = None
) -> Tx[Row | None]:
    if order_sn:
        row = (
            yield fetch_one(
                "SELECT * FROM orders WHERE order_sn = ? AND merchant_id = ?", order_sn, merchant_id
            )
        ).first
        if row is None or not merchant_order_sn or row["merchant_order_sn"] == merchant_order_sn:
            return row
        return None
    return (
        yield fetch_one(
            "SELECT * FROM orders WHERE merchant_id = ? AND merchant_order_sn = ?",
            merchant_id,
            merchant_order_sn,
        )
    ).first


def store_prepay(
    order_id: int,
    previous_prepay_id: str | None,
    prepay_id: str,
    prepay_expires_at: int,
    sign_params: dict[str, str],
    now: int,
) -> Tx[Row]:
    """Record a prepay id unless another request already did; return the order as stored."""
    args: tuple[str, ...] = ()
    condition = "prepay_id IS NULL"
    if previous_prepay_id is not None:
        condition, args = "prepay_id = ?", (previous_prepay_id,)
    stored = yield fetch_one(
        "UPDATE orders SET prepay_id = ?, prepay_expires_at = ?, sign_params = ?, updated_at = ? "
        f"WHERE order_id = ? AND {condition} RETURNING *",
        prepay_id,
        prepay_expires_at,
        jsonwire.dumps(sign_params),
        now,
        order_id,
        *args,
    )
    if stored.first is not None:
        yield from add_event(order_id, now, "PREPAY", prepay_id)
        return stored.first
    # another request stored its prepay first: every caller answers with that one
    row = (yield fetch_one("SELECT * FROM orders WHERE order_id = ?", order_id)).first
    assert row is not None
    return row


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the channel reported about a successful payment."""

    order_sn: str
    transaction_id: str
    paid_at: int
    payer_openid: str | None
    total_fen: int | None
    source: str  # "notification" or "query"


def mark_paid(facts: PaymentFacts, now: int) -> Tx[tuple[str, Row | None]]:
    """Move an order to SUCCESS once. Returns (outcome, order): outcome is ``paid``,
    ``duplicate`` (already paid: change nothing), ``unknown`` or ``amount_mismatch``."""
    order = yield from find_order_by_sn(facts.order_sn)
    if order is None:
        return "unknown", None
    if facts.total_fen is not None and facts.total_fen != order["total_fen"]:
        yield from add_event(
            order["order_id"],
            now,
            "PAYMENT_REFUSED",
            f"金额不符：通道 {facts.total_fen} 分，订单 {order['total_fen']} 分",
        )
        return "amount_mismatch", order
    previous = OrderState(order["state"])
    if not can_transition(previous, OrderState.SUCCESS):  # already paid
        return "duplicate", order
    result = yield execute(
        "UPDATE orders SET state = ?, platform_order_no = ?, user_id = ?, paid_at = ?, "
        "updated_at = ? WHERE order_id = ? AND state = ?",
        OrderState.SUCCESS.value,
        facts.transaction_id,
        facts.payer_openid or order["sub_openid"],
        facts.paid_at,
        now,
        order["order_id"],
        previous.value,
    )
    if result.rowcount != 1:  # pragma: no cover - the writer serialises units on SQLite
        return "duplicate", order
    detail = f"{facts.transaction_id} via {facts.source}"
    if previous == OrderState.CLOSED:
        detail += "; 订单已关闭后收到支付成功，已改为支付成功，请商户处理（可退款）"
    yield from add_event(order["order_id"], now, "PAID", detail)
    paid = yield from find_order_by_sn(facts.order_sn)
    assert paid is not None
    yield from enqueue_notification(paid, "PAYMENT", order_view(paid), now)
    return "paid", paid


def enqueue_notification(order: Row, kind: str, data: dict[str, Any], now: int) -> Tx[int | None]:
    """Write the outbox row for a merchant notification (same transaction as the change)."""
    url = order["call_back_url"]
    if not url:
        app = (
            yield fetch_one("SELECT callback_url FROM apps WHERE app_id = ?", order["app_id"])
        ).first
        url = app["callback_url"] if app else None
    if not url:
        yield from add_event(order["order_id"], now, "NOTIFY_SKIPPED", "没有回调地址")
        return None
    row = (
        yield fetch_one(
            "INSERT INTO notifications (order_id, app_id, kind, url, payload, status, attempts, "
            "next_attempt_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?) "
            "RETURNING notification_id",
            order["order_id"],
            order["app_id"],
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


def close_order(order_id: int, reason: str, now: int) -> Tx[Row]:
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
    row = (yield fetch_one("SELECT * FROM orders WHERE order_id = ?", order_id)).first
    assert row is not None
    return row


def find_refund(
    order_id: int, *, refund_sn: str | None = None, merchant_refund_sn: str | None = None
) -> Tx[Row | None]:
    if refund_sn:
        return (
            yield fetch_one(
                "SELECT * FROM refunds WHERE order_id = ? AND refund_sn = ?", order_id, refund_sn
            )
        ).first
    return (
        yield fetch_one(
            "SELECT * FROM refunds WHERE order_id = ? AND merchant_refund_sn = ?",
            order_id,
            merchant_refund_sn,
        )
    ).first


def order_refunds(order_id: int) -> Tx[list[Row]]:
    return (
        yield fetch_all("SELECT * FROM refunds WHERE order_id = ? ORDER BY refund_id", order_id)
    ).rows


def reserve_refund(
    order_id: int,
    refund_sn: str,
    merchant_refund_sn: str,
    amount_fen: int | None,
    now: int,
) -> Tx[tuple[str, Row | None]]:
    """Reserve ``amount_fen`` (``None``: the whole remainder) of a paid order for a refund.

    The reservation is one conditional UPDATE, so concurrent refunds can never take more than was
    paid on either database; the CHECK constraint on orders backs it up. Outcomes: ``reserved``,
    ``existing`` (same merchant_refund_sn), ``not_paid``, ``nothing_left``, ``exceeds``,
    ``too_many``.
    """
    # Take the order's row lock first (a no-op write; SQLite's writer is serial anyway). On
    # PostgreSQL concurrent reservations of one order queue here, and each reads what the one
    # before it committed: a retry with the same merchant_refund_sn then finds that refund instead
    # of being refused for the amount it reserved itself.
    yield execute("UPDATE orders SET refund_count = refund_count WHERE order_id = ?", order_id)
    existing = yield from find_refund(order_id, merchant_refund_sn=merchant_refund_sn)
    if existing is not None:
        return "existing", existing
    order = (yield fetch_one("SELECT * FROM orders WHERE order_id = ?", order_id)).first
    assert order is not None
    if order["state"] != OrderState.SUCCESS:
        return "not_paid", None
    if order["refund_count"] >= 10:
        return "too_many", None
    remaining = order["total_fen"] - order["refunded_fen"]
    if amount_fen is None:
        if remaining <= 0:
            return "nothing_left", None
        amount, guard, guard_arg = remaining, "refunded_fen = ?", order["refunded_fen"]
    else:
        if amount_fen > remaining:
            return "exceeds", None
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
        return "exceeds", None
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
    return "reserved", refund


def mark_refund_submitted(refund_id: int, channel_refund_id: str | None, now: int) -> Tx[None]:
    yield execute(
        "UPDATE refunds SET submitted = 1, channel_refund_id = COALESCE(?, channel_refund_id), "
        "updated_at = ? WHERE refund_id = ?",
        channel_refund_id,
        now,
        refund_id,
    )


def settle_refund(
    refund_sn: str, outcome: RefundState, channel_refund_id: str | None, now: int
) -> Tx[Row | None]:
    """PROCESSING -> SUCCESS or FAILED, once. A failed refund returns its amount to the order.
    A refund notification to the merchant is written in the same unit."""
    refund = (yield fetch_one("SELECT * FROM refunds WHERE refund_sn = ?", refund_sn)).first
    if refund is None:
        return None
    if refund["status"] != RefundState.PROCESSING or outcome == RefundState.PROCESSING:
        return refund
    result = yield execute(
        "UPDATE refunds SET status = ?, channel_refund_id = COALESCE(?, channel_refund_id), "
        "submitted = 1, finished_at = ?, updated_at = ? WHERE refund_id = ? AND status = ?",
        outcome.value,
        channel_refund_id,
        now,
        now,
        refund["refund_id"],
        RefundState.PROCESSING.value,
    )
    if result.rowcount != 1:  # pragma: no cover - serialised on SQLite
        return refund
    if outcome == RefundState.FAILED:
        yield execute(
            "UPDATE orders SET refunded_fen = refunded_fen - ?, refund_count = refund_count - 1, "
            "updated_at = ? WHERE order_id = ?",
            refund["refund_fen"],
            now,
            refund["order_id"],
        )
    yield from add_event(refund["order_id"], now, f"REFUND_{outcome.value}", refund_sn)
    settled = (
        yield fetch_one("SELECT * FROM refunds WHERE refund_id = ?", refund["refund_id"])
    ).first
    order = (yield fetch_one("SELECT * FROM orders WHERE order_id = ?", refund["order_id"])).first
    assert settled is not None and order is not None
    yield from enqueue_notification(order, "REFUND", refund_view(order, settled), now)
    return settled


def expired_orders(now: int, limit: int) -> Tx[list[Row]]:
    return (
        yield fetch_all(
            "SELECT * FROM orders WHERE state = ? AND expire_at <= ? ORDER BY expire_at LIMIT ?",
            OrderState.USERPAYING.value,
            now,
            limit,
        )
    ).rows


def stale_refunds(older_than: int, limit: int) -> Tx[list[Row]]:
    return (
        yield fetch_all(
            "SELECT r.*, o.order_sn, o.sub_mchid, o.sub_appid, o.total_fen FROM refunds r "
            "JOIN orders o ON o.order_id = r.order_id "
            "WHERE r.status = ? AND r.updated_at <= ? ORDER BY r.updated_at LIMIT ?",
            RefundState.PROCESSING.value,
            older_than,
            limit,
        )
    ).rows


def touch_refund(refund_id: int, now: int) -> Tx[None]:
    yield execute("UPDATE refunds SET updated_at = ? WHERE refund_id = ?", now, refund_id)


def unpaid_orders_to_check(older_than: int, limit: int) -> Tx[list[Row]]:
    """Unpaid orders with a prepay id, not looked at since ``older_than``, oldest first."""
    return (
        yield fetch_all(
            "SELECT * FROM orders WHERE state = ? AND prepay_id IS NOT NULL AND updated_at <= ? "
            "ORDER BY updated_at LIMIT ?",
            OrderState.USERPAYING.value,
            older_than,
            limit,
        )
    ).rows


def touch_order(order_id: int, now: int) -> Tx[None]:
    yield execute(
        "UPDATE orders SET updated_at = ? WHERE order_id = ? AND state = ?",
        now,
        order_id,
        OrderState.USERPAYING.value,
    )
