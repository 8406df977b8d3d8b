"""Read units of work for the console pages. Plain rows (``dict``) go to the templates; nothing
here selects an app secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from jubao.clock import CHINA
from jubao.kinds import ChannelName, Scene
from jubao.protocol.identifiers import unsafe_character
from jubao.storage.sql import Row, Tx, fetch_all, fetch_one

__all__ = [
    "CHANNELS",
    "DAY_MS",
    "SCENES",
    "Dashboard",
    "OrderFilter",
    "OrderPage",
    "dashboard",
    "day_start_ms",
    "list_orders",
    "merchants_overview",
    "order_detail",
]

DAY_MS = 86_400_000
ORDER_STATES = ("USERPAYING", "SUCCESS", "CLOSED", "REVOKING", "REVOKED", "REVOKED_ERROR")
CHANNELS = tuple(channel.value for channel in ChannelName)
SCENES = tuple(scene.value for scene in Scene)


def day_start_ms(day: date) -> int:
    """Midnight of ``day`` in China time, as epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp() * 1000)


def china_today(now_ms: int) -> date:
    return datetime.fromtimestamp(now_ms / 1000, tz=CHINA).date()


@dataclass(frozen=True, slots=True)
class Dashboard:
    orders_today: int
    paid_today: int
    paid_fen_today: int
    pending_notifications: int
    failed_notifications: int
    daily_paid_fen: list[tuple[date, int]]  # oldest first

    @property
    def success_rate(self) -> float | None:
        return self.paid_today / self.orders_today if self.orders_today else None


def dashboard(today: date, days: int = 7) -> Tx[Dashboard]:
    start = day_start_ms(today)
    counts = (
        yield fetch_one(
            "SELECT COUNT(*) AS orders, "
            "COALESCE(SUM(CASE WHEN state = 'SUCCESS' THEN 1 ELSE 0 END), 0) AS paid "
            "FROM orders WHERE created_at >= ? AND created_at < ?",
            start,
            start + DAY_MS,
        )
    ).first or {"orders": 0, "paid": 0}
    first_day = today - timedelta(days=days - 1)
    since = day_start_ms(first_day)
    rows = (
        yield fetch_all(
            "SELECT (paid_at - ?) / ? AS day_index, SUM(total_fen) AS fen FROM orders "
            "WHERE state = 'SUCCESS' AND paid_at >= ? GROUP BY 1",
            since,
            DAY_MS,
            since,
        )
    ).rows
    by_day = {int(row["day_index"]): int(row["fen"]) for row in rows}
    backlog = (
        yield fetch_all("SELECT status, COUNT(*) AS n FROM notifications GROUP BY status")
    ).rows
    by_status = {row["status"]: int(row["n"]) for row in backlog}
    daily = [(first_day + timedelta(days=i), by_day.get(i, 0)) for i in range(days)]
    return Dashboard(
        orders_today=int(counts["orders"]),
        paid_today=int(counts["paid"]),
        paid_fen_today=daily[-1][1],
        pending_notifications=by_status.get("PENDING", 0),
        failed_notifications=by_status.get("FAILED", 0),
        daily_paid_fen=daily,
    )


@dataclass(frozen=True, slots=True)
class OrderFilter:
    state: str | None = None
    channel: str | None = None
    scene: str | None = None
    store_id: int | None = None
    day: date | None = None
    search: str | None = None  # an order_sn or a merchant_order_sn

    def where(self) -> tuple[str, list[object]]:
        conditions: list[str] = []
        args: list[object] = []
        if self.state in ORDER_STATES:
            conditions.append("o.state = ?")
            args.append(self.state)
        if self.channel in CHANNELS:
            conditions.append("o.channel = ?")
            args.append(self.channel)
        if self.scene in SCENES:
            conditions.append("o.scene = ?")
            args.append(self.scene)
        if self.store_id is not None:
            conditions.append("o.store_id = ?")
            args.append(self.store_id)
        if self.day is not None:
            start = day_start_ms(self.day)
            conditions.append("o.created_at >= ? AND o.created_at < ?")
            args.extend((start, start + DAY_MS))
        if self.search and unsafe_character(self.search) is not None:
            # no identifier holds a control character (and PostgreSQL refuses a NUL in text)
            conditions.append("1 = 0")
        elif self.search:
            conditions.append("(o.order_sn = ? OR o.merchant_order_sn = ?)")
            args.extend((self.search, self.search))
        return (f" WHERE {' AND '.join(conditions)}" if conditions else ""), args


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Row]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


_ORDER_SELECT = (
    "SELECT o.*, m.name AS merchant_name, s.name AS store_name FROM orders o "
    "JOIN merchants m ON m.merchant_id = o.merchant_id "
    "LEFT JOIN stores s ON s.store_id = o.store_id"
)


def list_orders(where: OrderFilter, page: int, page_size: int) -> Tx[OrderPage]:
    clause, args = where.where()
    total_row = (yield fetch_one(f"SELECT COUNT(*) AS n FROM orders o{clause}", *args)).first
    rows = (
        yield fetch_all(
            f"{_ORDER_SELECT}{clause} ORDER BY o.order_id DESC LIMIT ? OFFSET ?",
            *args,
            page_size,
            (page - 1) * page_size,
        )
    ).rows
    return OrderPage(rows, int(total_row["n"]) if total_row else 0, page, page_size)


@dataclass(slots=True)
class OrderDetail:
    order: Row
    events: list[Row] = field(default_factory=list)
    refunds: list[Row] = field(default_factory=list)
    notifications: list[Row] = field(default_factory=list)  # each with "attempts_log"

    @property
    def refundable_fen(self) -> int:
        if self.order["state"] != "SUCCESS":
            return 0
        return int(self.order["total_fen"] - self.order["refunded_fen"])

    @property
    def timeline(self) -> list[Row]:
        """Order events and notification attempts, oldest first."""
        items: list[Row] = [
            {"at": event["at"], "kind": event["kind"], "detail": event["detail"]}
            for event in self.events
        ]
        for notification in self.notifications:
            for attempt in notification["attempts_log"]:
                outcome = attempt["error"] or f"HTTP {attempt['http_status']}"
                items.append(
                    {
                        "at": attempt["started_at"],
                        "kind": "NOTIFY_ATTEMPT",
                        "detail": f"{notification['kind']} → {outcome} "
                        f"({attempt['duration_ms']} ms)",
                    }
                )
        return sorted(items, key=lambda item: int(item["at"]))


def order_detail(order_sn: str) -> Tx[OrderDetail | None]:
    order = (yield fetch_one(f"{_ORDER_SELECT} WHERE o.order_sn = ?", order_sn)).first
    if order is None:
        return None
    order_id = order["order_id"]
    detail = OrderDetail(order)
    detail.events = (
        yield fetch_all("SELECT * FROM order_events WHERE order_id = ? ORDER BY event_id", order_id)
    ).rows
    detail.refunds = (
        yield fetch_all("SELECT * FROM refunds WHERE order_id = ? ORDER BY refund_id", order_id)
    ).rows
    detail.notifications = (
        yield fetch_all(
            "SELECT * FROM notifications WHERE order_id = ? ORDER BY notification_id", order_id
        )
    ).rows
    for notification in detail.notifications:
        notification["attempts_log"] = (
            yield fetch_all(
                "SELECT * FROM notification_attempts WHERE notification_id = ? ORDER BY attempt_id",
                notification["notification_id"],
            )
        ).rows
    return detail


def notification_order_sn(notification_id: int) -> Tx[str | None]:
    row = (
        yield fetch_one(
            "SELECT o.order_sn FROM notifications n JOIN orders o ON o.order_id = n.order_id "
            "WHERE n.notification_id = ?",
            notification_id,
        )
    ).first
    return str(row["order_sn"]) if row else None


@dataclass(frozen=True, slots=True)
class MerchantsOverview:
    merchants: list[Row]  # each with "apps", "stores" (each with "cashiers")

    @property
    def stores(self) -> list[Row]:
        return [store for merchant in self.merchants for store in merchant["stores"]]


def merchants_overview() -> Tx[MerchantsOverview]:
    merchants = (
        yield fetch_all(
            "SELECT m.merchant_id, m.name, c.channel_merchant_id AS sub_mchid, "
            "c.mina_app_id AS sub_appid, a.channel_merchant_id AS alipay_pid, m.vendor_sn, "
            "m.created_at "
            "FROM merchants m "
            "LEFT JOIN merchant_channels c ON c.merchant_id = m.merchant_id "
            "AND c.channel = 'wechatpay' "
            "LEFT JOIN merchant_channels a ON a.merchant_id = m.merchant_id "
            "AND a.channel = 'alipay' ORDER BY m.merchant_id"
        )
    ).rows
    apps = (
        yield fetch_all(
            "SELECT app_id, merchant_id, callback_url, created_at FROM apps ORDER BY created_at"
        )
    ).rows
    stores = (
        yield fetch_all("SELECT store_id, merchant_id, name FROM stores ORDER BY store_id")
    ).rows
    cashiers = (
        yield fetch_all("SELECT cashier_id, store_id, name FROM cashiers ORDER BY cashier_id")
    ).rows
    for store in stores:
        store["cashiers"] = [c for c in cashiers if c["store_id"] == store["store_id"]]
    for merchant in merchants:
        merchant["apps"] = [a for a in apps if a["merchant_id"] == merchant["merchant_id"]]
        merchant["stores"] = [s for s in stores if s["merchant_id"] == merchant["merchant_id"]]
    return MerchantsOverview(merchants)


def store_choices() -> Tx[list[Row]]:
    return (
        yield fetch_all(
            "SELECT s.store_id, s.name, m.name AS merchant_name FROM stores s "
            "JOIN merchants m ON m.merchant_id = s.merchant_id ORDER BY s.store_id"
        )
    ).rows
