"""Units of work for cashier codes (聚合码, ``payments.cashier_codes``): insert-or-get under the
merchant's ``merchant_order_sn``, look up by token, and link the order a wallet opened."""

from __future__ import annotations

from dataclasses import dataclass

from jubao.kinds import ChannelName
from jubao.money import Fen
from jubao.storage.sql import Row, Tx, execute, fetch_one

__all__ = [
    "CashierCodeRecord",
    "NewCashierCode",
    "find_code",
    "find_code_by_token",
    "insert_code",
    "link_order",
]


@dataclass(frozen=True, slots=True)
class NewCashierCode:
    token: str
    merchant_id: int
    app_id: str | None
    vendor_sn: str | None
    merchant_order_sn: str
    fingerprint: str
    order_sn: str
    total_fen: int
    store_id: int
    cashier_id: int
    channel: ChannelName | None
    body: str | None
    attach: str | None
    notify_url: str | None
    expire_at: int


@dataclass(frozen=True, slots=True)
class CashierCodeRecord:
    code_id: int
    token: str
    merchant_id: int
    # whoever created it, and so creates the order: the merchant's app, or a vendor acting for it
    app_id: str | None
    vendor_sn: str | None
    merchant_order_sn: str
    fingerprint: str
    order_sn: str  # reserved for the order the first wallet opens
    total_fen: Fen
    store_id: int
    cashier_id: int  # 0: none
    channel: ChannelName | None  # only this wallet may pay it (``fbpay.order.qrcode``'s pay_type)
    body: str | None
    attach: str | None
    notify_url: str | None
    expire_at: int
    order_id: int | None
    created_at: int

    @classmethod
    def from_row(cls, row: Row) -> CashierCodeRecord:
        return cls(
            code_id=int(row["code_id"]),
            token=row["token"],
            merchant_id=int(row["merchant_id"]),
            app_id=row["app_id"],
            vendor_sn=row["vendor_sn"],
            merchant_order_sn=row["merchant_order_sn"],
            fingerprint=row["fingerprint"],
            order_sn=row["order_sn"],
            total_fen=Fen(int(row["total_fen"])),
            store_id=int(row["store_id"]),
            cashier_id=int(row["cashier_id"] or 0),
            channel=ChannelName(row["channel"]) if row["channel"] else None,
            body=row["body"],
            attach=row["attach"],
            notify_url=row["notify_url"],
            expire_at=int(row["expire_at"]),
            order_id=None if row["order_id"] is None else int(row["order_id"]),
            created_at=int(row["created_at"]),
        )


def insert_code(code: NewCashierCode, now: int) -> Tx[tuple[CashierCodeRecord, bool] | None]:
    """Insert, or return the merchant's existing code with this merchant_order_sn. ``None``: the
    drawn token or order_sn is taken (by another code): draw again."""
    inserted = yield fetch_one(
        "INSERT INTO cashier_codes (token, merchant_id, app_id, vendor_sn, merchant_order_sn, "
        "fingerprint, order_sn, total_fen, store_id, cashier_id, channel, body, attach, "
        "notify_url, expire_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING *",
        code.token,
        code.merchant_id,
        code.app_id,
        code.vendor_sn,
        code.merchant_order_sn,
        code.fingerprint,
        code.order_sn,
        code.total_fen,
        code.store_id,
        code.cashier_id,
        code.channel.value if code.channel else None,
        code.body,
        code.attach,
        code.notify_url,
        code.expire_at,
        now,
    )
    if inserted.first is not None:
        return CashierCodeRecord.from_row(inserted.first), True
    existing = yield from find_code(code.merchant_id, code.merchant_order_sn)
    return (existing, False) if existing else None


def find_code_by_token(token: str) -> Tx[CashierCodeRecord | None]:
    row = (yield fetch_one("SELECT * FROM cashier_codes WHERE token = ?", token)).first
    return CashierCodeRecord.from_row(row) if row else None


def find_code(merchant_id: int, merchant_order_sn: str) -> Tx[CashierCodeRecord | None]:
    row = (
        yield fetch_one(
            "SELECT * FROM cashier_codes WHERE merchant_id = ? AND merchant_order_sn = ?",
            merchant_id,
            merchant_order_sn,
        )
    ).first
    return CashierCodeRecord.from_row(row) if row else None


def link_order(code_id: int, order_id: int) -> Tx[None]:
    """Record the order behind the code (once: the order is unique per merchant_order_sn, so a
    second link names the same order)."""
    yield execute(
        "UPDATE cashier_codes SET order_id = ? WHERE code_id = ? AND order_id IS NULL",
        order_id,
        code_id,
    )
