"""The simulated WeChat's books: the service providers and their sub-merchant bindings, orders
(indexed by prepay_id and transaction_id), refunds and notifications.

The in-memory records are the truth while running; every change is written behind to the store
(``store.py``) by ``save_*``. Callers change a record and save it without awaiting in between, so
each operation is atomic against concurrent requests on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator.config import SpMerchant
from jubao.channels.simulator.models import Notification, Order, Refund, mark_paid, order_key
from jubao.channels.simulator.signing import load_public_key
from jubao.channels.simulator.store import Store

__all__ = ["PAID_STATES", "STORE_FILE", "State"]

STORE_FILE = "simulator.sqlite3"
PAID_STATES = ("SUCCESS", "REFUND")


class State:
    def __init__(
        self, merchants: Sequence[SpMerchant], data_dir: Path | None, now: Callable[[], float]
    ) -> None:
        self._now = now
        self._merchants: dict[str, tuple[SpMerchant, rsa.RSAPublicKey]] = {
            sp.sp_mchid: (sp, load_public_key(sp.api_public_key_pem)) for sp in merchants
        }
        self._bindings: dict[str, dict[str, set[str]]] = {
            sp.sp_mchid: {sub: set(appids) for sub, appids in sp.sub_merchants.items()}
            for sp in merchants
        }
        self._orders: dict[str, Order] = {}
        self._by_prepay: dict[str, str] = {}
        self._by_transaction: dict[str, str] = {}
        self._by_code_url: dict[str, str] = {}
        self._auth_codes: set[str] = set()
        self.refunds: dict[str, Refund] = {}
        self.notifications: dict[str, Notification] = {}
        self._store = Store(data_dir / STORE_FILE if data_dir else None)
        self._load()

    # ---- providers and sub-merchants -----------------------------------------------------

    def merchant(self, sp_mchid: str) -> tuple[SpMerchant, rsa.RSAPublicKey] | None:
        """The provider and its API public key (verifies its requests and paySigns)."""
        return self._merchants.get(sp_mchid)

    def first_merchant(self) -> SpMerchant:
        return next(iter(self._merchants.values()))[0]

    def sub_appids(self, sp_mchid: str, sub_mchid: str) -> set[str] | None:
        """The sub_appids bound to the provider's sub-merchant; ``None``: not its sub-merchant."""
        return self._bindings.get(sp_mchid, {}).get(sub_mchid)

    def bind(self, sp_mchid: str, sub_mchid: str, sub_appid: str | None) -> None:
        if sp_mchid not in self._merchants:
            raise KeyError(f"unknown sp_mchid {sp_mchid}")
        if not sub_mchid:
            raise ValueError("sub_mchid is required")
        appids = self._bindings[sp_mchid].setdefault(sub_mchid, set())
        if sub_appid:
            appids.add(sub_appid)
        self._store.put(
            "binding",
            f"{sp_mchid}/{sub_mchid}",
            {"sp_mchid": sp_mchid, "sub_mchid": sub_mchid, "sub_appids": sorted(appids)},
        )

    def bindings(self) -> dict[str, dict[str, list[str]]]:
        return {
            sp: {sub: sorted(appids) for sub, appids in subs.items()}
            for sp, subs in self._bindings.items()
        }

    # ---- orders --------------------------------------------------------------------------

    def order(self, sp_mchid: str, out_trade_no: str) -> Order | None:
        return self._orders.get(order_key(sp_mchid, out_trade_no))

    def orders(self) -> Iterator[Order]:
        return iter(self._orders.values())

    def order_by_key(self, key: str) -> Order:
        return self._orders[key]

    def order_by_prepay(self, prepay_id: str) -> Order | None:
        key = self._by_prepay.get(prepay_id)
        return self._orders[key] if key else None

    def order_by_transaction(self, transaction_id: str) -> Order | None:
        key = self._by_transaction.get(transaction_id)
        return self._orders.get(key) if key else None

    def find_order(self, out_trade_no: str, sp_mchid: str | None) -> Order:
        """For the controls, which may leave the provider out; ``KeyError`` when unknown."""
        for order in self._orders.values():
            if order.out_trade_no == out_trade_no and sp_mchid in (None, order.sp_mchid):
                return order
        raise KeyError(f"unknown out_trade_no {out_trade_no}")

    def add_order(self, order: Order) -> None:
        self._orders[order.key] = order

    def add_prepay(self, order: Order, prepay_id: str, expires_at: float) -> None:
        order.prepays[prepay_id] = expires_at
        self._by_prepay[prepay_id] = order.key
        self.save_order(order)

    def order_by_code_url(self, code_url: str) -> Order | None:
        key = self._by_code_url.get(code_url)
        return self._orders.get(key) if key else None

    def add_code_url(self, order: Order, code_url: str, expires_at: float) -> None:
        order.code_urls[code_url] = expires_at
        self._by_code_url[code_url] = order.key
        self.save_order(order)

    def auth_code_used(self, auth_code: str) -> bool:
        """Payment codes are single-use, whatever became of the order that used one."""
        return auth_code in self._auth_codes

    def use_auth_code(self, auth_code: str) -> None:
        self._auth_codes.add(auth_code)

    def index_transaction(self, order: Order) -> None:
        assert order.transaction_id is not None
        self._by_transaction[order.transaction_id] = order.key

    def refresh(self, order: Order) -> None:
        """Closes an unpaid order whose time_expire has passed; pays a code payment whose payer
        has entered the password by now."""
        now = self._now()
        if order.trade_state == "NOTPAY" and now >= order.expire_at:
            order.trade_state = "CLOSED"
            order.closed_at = order.expire_at
            self.save_order(order)
        elif (
            order.trade_state == "USERPAYING"
            and order.confirm_at is not None
            and now >= order.confirm_at
        ):
            mark_paid(order, order.confirm_at)
            self.index_transaction(order)
            self.save_order(order)

    # ---- refunds -------------------------------------------------------------------------

    def refunds_of(self, order: Order) -> Iterator[Refund]:
        return (refund for refund in self.refunds.values() if refund.order_key == order.key)

    # ---- persistence ---------------------------------------------------------------------

    def save_order(self, order: Order) -> None:
        self._store.put("order", order.key, order.record())

    def save_refund(self, refund: Refund) -> None:
        self._store.put("refund", refund.key, refund.record())

    def save_notification(self, notification: Notification) -> None:
        self._store.put("notification", notification.id, notification.record())

    async def close(self) -> None:
        """Waits until everything queued is written, then closes the store."""
        await asyncio.to_thread(self._store.flush)
        await asyncio.to_thread(self._store.close)

    def _load(self) -> None:
        state: dict[str, dict[str, dict[str, Any]]] = self._store.load()
        for record in state.get("binding", {}).values():
            subs = self._bindings.get(record["sp_mchid"])
            if subs is not None:
                subs.setdefault(record["sub_mchid"], set()).update(record["sub_appids"])
        for record in state.get("order", {}).values():
            order = Order(**record)
            self._orders[order.key] = order
            for prepay_id in order.prepays:
                self._by_prepay[prepay_id] = order.key
            if order.transaction_id is not None:
                self._by_transaction[order.transaction_id] = order.key
            for code_url in order.code_urls:
                self._by_code_url[code_url] = order.key
            if order.auth_code is not None:
                self._auth_codes.add(order.auth_code)
        for record in state.get("refund", {}).values():
            refund = Refund(**record)
            self.refunds[refund.key] = refund
        for record in state.get("notification", {}).values():
            notification = Notification(**record)
            self.notifications[notification.id] = notification
