"""Looks up apps for request verification, with a short cache, and creates merchant records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from jubao.clock import Clock, system_clock
from jubao.ids import new_app_id, new_app_secret, new_vendor_sn
from jubao.merchants import repository as repo
from jubao.merchants.models import App, Cashier, Merchant, MerchantChannel, Store, Vendor
from jubao.security.sealing import Sealer
from jubao.storage.database import Database
from jubao.storage.sql import Tx

__all__ = ["MerchantDirectory", "NewApp", "NewVendor"]

_CACHE_MS = 5_000  # a rotated secret takes effect within this long on every instance

K = TypeVar("K")
V = TypeVar("V")


def _first_store(merchant_id: int) -> Tx[Store | None]:
    stores = yield from repo.list_stores(merchant_id)
    return stores[0] if stores else None


@dataclass(frozen=True, slots=True)
class NewApp:
    """An app as created: the only moment its secret is shown."""

    app: App
    app_secret: str


@dataclass(frozen=True, slots=True)
class NewVendor:
    """A vendor as created or rotated: the only moment its secret is shown."""

    vendor: Vendor
    vendor_secret: str


class MerchantDirectory:
    def __init__(
        self, db: Database, clock: Clock = system_clock, *, sealer: Sealer | None = None
    ) -> None:
        """``sealer`` seals app secrets at rest (``security.keys.sealer_for(settings)``); without
        one, secrets are stored as they are and only plaintext values can be read."""
        self._db = db
        self._clock = clock
        self._sealer = sealer or repo.UNSEALED
        self._cache: dict[str, tuple[int, App | None]] = {}
        self._merchants: dict[int, tuple[int, Merchant | None]] = {}
        self._vendors: dict[str, tuple[int, Vendor | None]] = {}
        self._stores: dict[int, Store] = {}
        self._default_stores: dict[int, tuple[int, Store | None]] = {}
        self._cashiers: dict[int, Cashier] = {}
        # Told about each merchant created through this directory (the sandbox registers the
        # new sub-merchant binding with its simulator).
        self.on_merchant_created: list[Callable[[Merchant], None]] = []

    async def _cached(
        self, table: dict[K, tuple[int, V | None]], key: K, find: Callable[[], Tx[V | None]]
    ) -> V | None:
        """``find``'s answer, kept for ``_CACHE_MS`` (a miss too)."""
        now = self._clock()
        cached = table.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._db.read(find)
        if len(table) > 10_000:
            table.clear()
        table[key] = (now + _CACHE_MS, found)
        return found

    async def app(self, app_id: str) -> App | None:
        return await self._cached(self._cache, app_id, lambda: repo.find_app(app_id, self._sealer))

    async def merchant(self, merchant_id: int) -> Merchant | None:
        """A merchant with its channel bindings (cached like apps)."""
        return await self._cached(
            self._merchants, merchant_id, lambda: repo.find_merchant(merchant_id, self._sealer)
        )

    def forget(self, app_id: str) -> None:
        self._cache.pop(app_id, None)

    async def vendor(self, vendor_sn: str) -> Vendor | None:
        """A vendor for request verification (cached like apps)."""
        return await self._cached(
            self._vendors, vendor_sn, lambda: repo.find_vendor(vendor_sn, self._sealer)
        )

    async def vendor_merchant(self, vendor: Vendor, merchant_id: int) -> Merchant | None:
        """The merchant if it belongs to ``vendor``; ``None`` for any other merchant id."""
        merchant = await self.merchant(merchant_id)
        return merchant if merchant is not None and merchant.vendor_sn == vendor.vendor_sn else None

    async def create_vendor(self, name: str) -> NewVendor:
        now = self._clock()
        secret = new_app_secret()
        vendor_sn = new_vendor_sn(now)
        sealer = self._sealer
        vendor = await self._db.write(
            lambda: repo.insert_vendor(vendor_sn, name, secret, now, sealer)
        )
        return NewVendor(vendor, secret)

    async def list_vendors(self) -> list[tuple[Vendor, int]]:
        """Every vendor with its number of merchants."""
        return await self._db.read(lambda: repo.list_vendors(self._sealer))

    async def rotate_vendor_secret(self, vendor_sn: str) -> str | None:
        secret = new_app_secret()
        sealer = self._sealer
        changed = await self._db.write(lambda: repo.update_vendor_secret(vendor_sn, secret, sealer))
        self._vendors.pop(vendor_sn, None)
        return secret if changed else None

    async def assign_vendor(self, merchant_id: int, vendor_sn: str | None) -> bool:
        """Make ``vendor_sn`` the merchant's service provider (``None``: none)."""
        changed = await self._db.write(lambda: repo.set_merchant_vendor(merchant_id, vendor_sn))
        self._cache.clear()  # cached apps carry their merchant
        self._merchants.pop(merchant_id, None)
        return changed

    async def create_merchant(
        self, name: str, sub_mchid: str, sub_appid: str, *, vendor_sn: str | None = None
    ) -> Merchant:
        now = self._clock()
        merchant = await self._db.write(
            lambda: repo.insert_merchant(name, sub_mchid, sub_appid, now, vendor_sn)
        )
        for listener in self.on_merchant_created:
            listener(merchant)
        return merchant

    async def create_app(
        self, merchant_id: int, callback_url: str | None = None, *, strict_nonce: bool = False
    ) -> NewApp:
        now = self._clock()
        secret = new_app_secret()
        app_id = new_app_id(now)
        sealer = self._sealer
        app = await self._db.write(
            lambda: repo.insert_app(
                app_id, merchant_id, secret, callback_url, now, sealer, strict_nonce=strict_nonce
            )
        )
        return NewApp(app, secret)

    async def rotate_secret(self, app_id: str) -> str | None:
        secret = new_app_secret()
        sealer = self._sealer
        changed = await self._db.write(lambda: repo.update_app_secret(app_id, secret, sealer))
        self.forget(app_id)
        return secret if changed else None

    async def set_strict_nonce(self, app_id: str, on: bool) -> bool:
        changed = await self._db.write(lambda: repo.set_strict_nonce(app_id, on))
        self.forget(app_id)
        return changed

    async def set_refund_notify(self, app_id: str, on: bool) -> bool:
        """Whether refund results are notified to the app's callback (Fubei 1.0 sends none)."""
        changed = await self._db.write(lambda: repo.set_refund_notify(app_id, on))
        self.forget(app_id)
        return changed

    async def bind_channel(self, merchant_id: int, binding: MerchantChannel) -> None:
        now = self._clock()
        sealer = self._sealer
        await self._db.write(lambda: repo.bind_channel(merchant_id, binding, now, sealer))
        self._cache.clear()  # cached apps carry their merchant's bindings
        self._merchants.pop(merchant_id, None)

    async def list_merchants(self) -> list[Merchant]:
        """Every merchant with its bindings (tokens opened)."""
        return await self._db.read(lambda: repo.list_merchants(self._sealer))

    async def list_apps(self) -> list[App]:
        return await self._db.read(lambda: repo.list_apps(self._sealer))

    async def create_store(self, merchant_id: int, name: str) -> Store:
        now = self._clock()
        store = await self._db.write(lambda: repo.insert_store(merchant_id, name, now))
        self._default_stores.pop(merchant_id, None)  # a merchant's first store ends a cached miss
        return store

    async def create_cashier(self, store_id: int, name: str) -> Cashier:
        now = self._clock()
        return await self._db.write(lambda: repo.insert_cashier(store_id, name, now))

    # Stores and cashiers never move to another merchant or store, so a found one can be kept;
    # an unknown id is looked up again each time (it may have been created since).

    async def store(self, store_id: int) -> Store | None:
        found = self._stores.get(store_id)
        if found is None:
            found = await self._db.read(lambda: repo.find_store(store_id))
            if found is not None:
                self._stores[store_id] = found
        return found

    async def default_store(self, merchant_id: int) -> Store | None:
        """The merchant's first store: where a 2.0 order that names none is taken (cached like
        apps)."""
        return await self._cached(
            self._default_stores, merchant_id, lambda: _first_store(merchant_id)
        )

    async def set_callbacks(
        self, merchant_id: int, pay_url: str | None, refund_url: str | None
    ) -> repo.Callbacks:
        """The merchant's 2.0 callback addresses (an address left out keeps its value)."""
        now = self._clock()
        return await self._db.write(
            lambda: repo.set_callbacks(merchant_id, pay_url, refund_url, now)
        )

    async def callbacks(self, merchant_id: int) -> repo.Callbacks | None:
        return await self._db.read(lambda: repo.find_callbacks(merchant_id))

    async def cashier(self, cashier_id: int) -> Cashier | None:
        found = self._cashiers.get(cashier_id)
        if found is None:
            found = await self._db.read(lambda: repo.find_cashier(cashier_id))
            if found is not None:
                self._cashiers[cashier_id] = found
        return found
