"""The simulator's records and how WeChat renders them on the wire.

Times are epoch seconds (floats) so that records round-trip through JSON unchanged; they are
rendered as RFC 3339 in China time only on the way out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from jubao.channels.simulator.ids import new_transaction_id, rfc3339

__all__ = [
    "Notification",
    "Order",
    "Refund",
    "mark_paid",
    "refund_json",
    "refund_notification_json",
    "transaction_json",
]

TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "转入退款",
    "USERPAYING": "需要用户输入支付密码",
    "REVOKED": "已撤销",
    "PAYERROR": "支付失败，请撤销订单",
}


@dataclass
class Order:
    sp_mchid: str
    sp_appid: str
    sub_mchid: str
    sub_appid: str | None
    out_trade_no: str
    description: str
    attach: str | None
    notify_url: str
    total: int
    currency: str
    sp_openid: str | None
    sub_openid: str | None
    created_at: float
    expire_at: float
    fingerprint: str
    """Canonical JSON of the prepay request, to tell an identical retry from a conflict."""
    prepays: dict[str, float] = field(default_factory=dict)
    """prepay_id -> expiry (created + 2 h, or earlier when expired by the control API)."""
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: float | None = None
    bank_type: str | None = None
    payer_total: int | None = None
    closed_at: float | None = None
    trade_type: str = "JSAPI"
    """JSAPI, NATIVE or MICROPAY: how the order was opened."""
    auth_code: str | None = None
    """MICROPAY: the payer's payment code (single-use)."""
    confirm_at: float | None = None
    """MICROPAY USERPAYING: when the payer's password is entered (``None``: never)."""
    prompt_open: bool = False
    """MICROPAY USERPAYING: the password box is open on the payer's phone (reverse refused)."""
    code_urls: dict[str, float] = field(default_factory=dict)
    """NATIVE: code_url -> expiry (2 h)."""
    revoked_at: float | None = None

    @property
    def key(self) -> str:
        return order_key(self.sp_mchid, self.out_trade_no)

    @property
    def app_id(self) -> str:
        """The appId a payer's ``wx.requestPayment`` must use: sub_appid when ordered with one."""
        return self.sub_appid or self.sp_appid

    @property
    def openid(self) -> str | None:
        return self.sub_openid or self.sp_openid

    def record(self) -> dict[str, Any]:
        return asdict(self)


def mark_paid(order: Order, when: float) -> None:
    """The payer paid the whole amount at ``when`` (the caller indexes and saves the order)."""
    order.trade_state = "SUCCESS"
    order.transaction_id = new_transaction_id(when)
    order.success_time = when
    order.bank_type = "OTHERS"
    order.payer_total = order.total
    order.confirm_at = None
    order.prompt_open = False


def order_key(sp_mchid: str, out_trade_no: str) -> str:
    # out_trade_no is unique under the service provider, across its sub-merchants.
    return f"{sp_mchid}/{out_trade_no}"


@dataclass
class Refund:
    sp_mchid: str
    sub_mchid: str
    order_key: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    reason: str | None
    notify_url: str | None
    refund: int
    total: int
    currency: str
    created_at: float
    settle_at: float
    outcome: str
    """What settlement will do: SUCCESS, ABNORMAL or CLOSED (chosen at creation)."""
    status: str = "PROCESSING"
    success_time: float | None = None

    @property
    def key(self) -> str:
        return refund_key(self.sp_mchid, self.sub_mchid, self.out_refund_no)

    @property
    def holds_money(self) -> bool:
        """Counts towards the refunded sum; only a CLOSED refund gives its amount back."""
        return self.status != "CLOSED"

    def record(self) -> dict[str, Any]:
        return asdict(self)


def refund_key(sp_mchid: str, sub_mchid: str, out_refund_no: str) -> str:
    return f"{sp_mchid}/{sub_mchid}/{out_refund_no}"


@dataclass
class Notification:
    id: str
    sp_mchid: str
    out_trade_no: str
    event_type: str
    url: str
    body: str
    """The exact JSON sent (encrypted resource); resends and retries send the same bytes."""
    plaintext: dict[str, Any]
    created_at: float
    mode: str = "normal"
    state: str = "pending"
    """pending, delivered, failed (attempts exhausted) or dropped."""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    next_attempt_at: float | None = None
    round_start: int = 0
    """Index into ``attempts`` where the current delivery round (first send or resend) began."""

    def record(self) -> dict[str, Any]:
        return asdict(self)


def transaction_json(order: Order) -> dict[str, Any]:
    """The partner Transaction (query answer and TRANSACTION.SUCCESS plaintext). An unpaid or
    closed order shows only the basic fields, as WeChat does."""
    body: dict[str, Any] = {"sp_appid": order.sp_appid, "sp_mchid": order.sp_mchid}
    if order.sub_appid is not None:
        body["sub_appid"] = order.sub_appid
    body["sub_mchid"] = order.sub_mchid
    body["out_trade_no"] = order.out_trade_no
    paid = order.transaction_id is not None
    if paid:
        body["transaction_id"] = order.transaction_id
        body["trade_type"] = order.trade_type
    body["trade_state"] = order.trade_state
    body["trade_state_desc"] = TRADE_STATE_DESC[order.trade_state]
    if paid:
        body["bank_type"] = order.bank_type
    if order.attach is not None:
        body["attach"] = order.attach
    if paid and order.success_time is not None:
        body["success_time"] = rfc3339(order.success_time)
        payer: dict[str, str] = {}
        if order.sp_openid is not None:
            payer["sp_openid"] = order.sp_openid
        if order.sub_openid is not None:
            payer["sub_openid"] = order.sub_openid
        body["payer"] = payer
    amount: dict[str, Any] = {"total": order.total}
    if paid:
        amount["payer_total"] = order.payer_total
    amount["currency"] = order.currency
    amount["payer_currency"] = order.currency
    body["amount"] = amount
    body["promotion_detail"] = []
    return body


def refund_json(refund: Refund) -> dict[str, Any]:
    body: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rfc3339(refund.created_at),
        "status": refund.status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": refund.total,
            "refund": refund.refund,
            "from": [],
            "payer_total": refund.total,
            "payer_refund": refund.refund,
            "settlement_refund": refund.refund,
            "settlement_total": refund.total,
            "discount_refund": 0,
            "currency": refund.currency,
        },
        "promotion_detail": [],
    }
    if refund.success_time is not None:
        body["success_time"] = rfc3339(refund.success_time)
    return body


def refund_notification_json(refund: Refund) -> dict[str, Any]:
    """The plaintext of a REFUND.* notification (partner fields)."""
    body: dict[str, Any] = {
        "sp_mchid": refund.sp_mchid,
        "sub_mchid": refund.sub_mchid,
        "out_trade_no": refund.out_trade_no,
        "transaction_id": refund.transaction_id,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_status": refund.status,
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": refund.total,
            "refund": refund.refund,
            "payer_total": refund.total,
            "payer_refund": refund.refund,
        },
    }
    if refund.success_time is not None:
        body["success_time"] = rfc3339(refund.success_time)
    return body
