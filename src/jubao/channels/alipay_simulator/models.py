"""The simulator's records: trades, refunds and notifications, as JSON-able dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

__all__ = ["UNSCANNED", "Notification", "Refund", "Trade", "from_record", "to_record"]

# A precreated QR nobody scanned yet: Alipay has no trade for it (query says TRADE_NOT_EXIST).
UNSCANNED = "UNSCANNED"
PAID_STATES = ("TRADE_SUCCESS", "TRADE_FINISHED")


@dataclass
class Trade:
    seller_id: str
    out_trade_no: str
    trade_no: str
    kind: str  # "pay" (payment code), "precreate" (QR), "create" (JSAPI), "wap" (H5 page)
    status: str  # UNSCANNED, WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED, TRADE_FINISHED
    total_fen: int
    subject: str
    app_id: str
    auth_app_id: str
    notify_url: str
    fingerprint: str
    created_at: float
    expire_at: float
    body: str = ""
    store_id: str = ""
    buyer_id: str = ""
    buyer_logon_id: str = ""
    paid_at: float | None = None
    closed_at: float | None = None
    confirm_at: float | None = None  # a payer typing a password confirms at this time
    qr_code: str = ""
    refunded_fen: int = 0
    cancelled: bool = False

    @property
    def key(self) -> str:
        return f"{self.seller_id}|{self.out_trade_no}"

    @property
    def paid(self) -> bool:
        return self.paid_at is not None


@dataclass
class Refund:
    seller_id: str
    out_trade_no: str
    trade_no: str
    out_request_no: str
    refund_fen: int
    at: float
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.seller_id}|{self.out_trade_no}|{self.out_request_no}"


@dataclass
class Notification:
    id: str  # Alipay's notify_id: the same on every redelivery
    trade_key: str
    url: str
    fields: dict[str, str]
    state: str = "pending"  # pending, delivered, failed, dropped
    mode: str = "normal"  # normal, drop, duplicate
    next_attempt_at: float | None = None
    round_start: int = 0  # index of the first attempt of the current round in ``attempts``
    attempts: list[dict[str, Any]] = field(default_factory=list)


Record = TypeVar("Record", Trade, Refund, Notification)


def to_record(item: Trade | Refund | Notification) -> dict[str, Any]:
    return asdict(item)


def from_record(kind: type[Record], data: dict[str, Any]) -> Record:
    known = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in known})
