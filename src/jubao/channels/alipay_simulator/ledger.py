"""The simulator's books: trades, refunds, notifications, spent payment codes and merchants
registered at run time, in memory and written behind to SQLite (the WeChat simulator's store)."""

from __future__ import annotations

from pathlib import Path

from jubao.channels.alipay_simulator.config import AlipayMerchant
from jubao.channels.alipay_simulator.models import (
    Notification,
    Refund,
    Trade,
    from_record,
    to_record,
)
from jubao.channels.simulator.store import Store

__all__ = ["STORE_FILE", "Ledger"]

STORE_FILE = "alipay-simulator.sqlite3"


class Ledger:
    def __init__(self, data_dir: Path | None) -> None:
        self._store = Store(data_dir / STORE_FILE if data_dir is not None else None)
        self.trades: dict[str, Trade] = {}
        self.refunds: dict[str, Refund] = {}
        self.notifications: dict[str, Notification] = {}
        self.used_codes: set[str] = set()
        self.merchants: dict[str, AlipayMerchant] = {}
        self._by_trade_no: dict[str, str] = {}
        self._by_qr: dict[str, str] = {}
        self._load()

    # ---- lookups --------------------------------------------------------------------------------

    def trade(self, seller_id: str, out_trade_no: str = "", trade_no: str = "") -> Trade | None:
        """``trade_no`` wins over ``out_trade_no``, as at Alipay; another seller's trade is
        invisible."""
        key = self._by_trade_no.get(trade_no) if trade_no else f"{seller_id}|{out_trade_no}"
        found = self.trades.get(key) if key else None
        return found if found is not None and found.seller_id == seller_id else None

    def by_trade_no(self, trade_no: str) -> Trade | None:
        key = self._by_trade_no.get(trade_no)
        return self.trades.get(key) if key else None

    def by_qr(self, qr_code: str) -> Trade | None:
        key = self._by_qr.get(qr_code)
        return self.trades.get(key) if key else None

    def refunds_of(self, trade: Trade) -> list[Refund]:
        prefix = trade.key + "|"
        return sorted(
            (r for k, r in self.refunds.items() if k.startswith(prefix)), key=lambda r: r.at
        )

    # ---- writes ---------------------------------------------------------------------------------

    def save_trade(self, trade: Trade) -> None:
        self.trades[trade.key] = trade
        self._by_trade_no[trade.trade_no] = trade.key
        if trade.qr_code:
            self._by_qr[trade.qr_code] = trade.key
        self._store.put("trade", trade.key, to_record(trade))

    def save_refund(self, refund: Refund) -> None:
        self.refunds[refund.key] = refund
        self._store.put("refund", refund.key, to_record(refund))

    def save_notification(self, notification: Notification) -> None:
        self.notifications[notification.id] = notification
        self._store.put("notification", notification.id, to_record(notification))

    def spend_code(self, auth_code: str) -> None:
        self.used_codes.add(auth_code)
        self._store.put("code", auth_code, {})

    def save_merchant(self, merchant: AlipayMerchant) -> None:
        self.merchants[merchant.app_auth_token] = merchant
        record = {"pid": merchant.pid, "auth_app_id": merchant.auth_app_id}
        self._store.put("merchant", merchant.app_auth_token, record)

    def flush(self) -> None:
        self._store.flush()

    def close(self) -> None:
        self._store.close()

    def _load(self) -> None:
        records = self._store.load()
        for data in records.get("trade", {}).values():
            trade = from_record(Trade, data)
            self.trades[trade.key] = trade
            self._by_trade_no[trade.trade_no] = trade.key
            if trade.qr_code:
                self._by_qr[trade.qr_code] = trade.key
        for data in records.get("refund", {}).values():
            refund = from_record(Refund, data)
            self.refunds[refund.key] = refund
        for data in records.get("notification", {}).values():
            notification = from_record(Notification, data)
            self.notifications[notification.id] = notification
        self.used_codes.update(records.get("code", {}))
        for token, data in records.get("merchant", {}).items():
            self.merchants[token] = AlipayMerchant(data["pid"], token, data.get("auth_app_id", ""))
