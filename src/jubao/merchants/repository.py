"""Units of work for merchants, apps, stores and cashiers."""

from __future__ import annotations

from jubao.merchants.models import App, Cashier, Merchant, Store
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one

__all__ = [
    "find_app",
    "find_cashier",
    "find_store",
    "insert_app",
    "insert_cashier",
    "insert_merchant",
    "insert_store",
    "list_apps",
    "list_cashiers",
    "list_merchants",
    "list_stores",
    "update_app_secret",
]

_APP_SELECT = (
    "SELECT a.app_id, a.app_secret, a.callback_url, m.merchant_id, m.name, m.sub_mchid, "
    "m.sub_appid FROM apps a JOIN merchants m ON m.merchant_id = a.merchant_id"
)


def _merchant(row: Row) -> Merchant:
    return Merchant(row["merchant_id"], row["name"], row["sub_mchid"], row["sub_appid"])


def _app(row: Row) -> App:
    return App(row["app_id"], _merchant(row), row["app_secret"], row["callback_url"])


def insert_merchant(name: str, sub_mchid: str, sub_appid: str, now: int) -> Tx[Merchant]:
    row = (
        yield fetch_one(
            "INSERT INTO merchants (name, sub_mchid, sub_appid, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING merchant_id, name, sub_mchid, sub_appid",
            name,
            sub_mchid,
            sub_appid,
            now,
        )
    ).first
    assert row is not None
    return _merchant(row)


def insert_app(
    app_id: str, merchant_id: int, secret: str, callback_url: str | None, now: int
) -> Tx[App]:
    yield execute(
        "INSERT INTO apps (app_id, merchant_id, app_secret, callback_url, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        app_id,
        merchant_id,
        secret,
        callback_url,
        now,
    )
    app = yield from find_app(app_id)
    assert app is not None
    return app


def find_app(app_id: str) -> Tx[App | None]:
    row = (yield fetch_one(_APP_SELECT + " WHERE a.app_id = ?", app_id)).first
    return _app(row) if row else None


def list_apps() -> Tx[list[App]]:
    rows = (yield fetch_all(_APP_SELECT + " ORDER BY a.created_at")).rows
    return [_app(row) for row in rows]


def list_merchants() -> Tx[list[Merchant]]:
    rows = (
        yield fetch_all("SELECT merchant_id, name, sub_mchid, sub_appid FROM merchants ORDER BY 1")
    ).rows
    return [_merchant(row) for row in rows]


def update_app_secret(app_id: str, secret: str) -> Tx[bool]:
    result = yield execute("UPDATE apps SET app_secret = ? WHERE app_id = ?", secret, app_id)
    return result.rowcount == 1


def insert_store(merchant_id: int, name: str, now: int) -> Tx[Store]:
    row = (
        yield fetch_one(
            "INSERT INTO stores (merchant_id, name, created_at) VALUES (?, ?, ?) "
            "RETURNING store_id, merchant_id, name",
            merchant_id,
            name,
            now,
        )
    ).first
    assert row is not None
    return Store(row["store_id"], row["merchant_id"], row["name"])


def insert_cashier(store_id: int, name: str, now: int) -> Tx[Cashier]:
    row = (
        yield fetch_one(
            "INSERT INTO cashiers (store_id, name, created_at) VALUES (?, ?, ?) "
            "RETURNING cashier_id, store_id, name",
            store_id,
            name,
            now,
        )
    ).first
    assert row is not None
    return Cashier(row["cashier_id"], row["store_id"], row["name"])


def find_store(store_id: int) -> Tx[Store | None]:
    row = (
        yield fetch_one(
            "SELECT store_id, merchant_id, name FROM stores WHERE store_id = ?", store_id
        )
    ).first
    return Store(row["store_id"], row["merchant_id"], row["name"]) if row else None


def find_cashier(cashier_id: int) -> Tx[Cashier | None]:
    row = (
        yield fetch_one(
            "SELECT cashier_id, store_id, name FROM cashiers WHERE cashier_id = ?", cashier_id
        )
    ).first
    return Cashier(row["cashier_id"], row["store_id"], row["name"]) if row else None


def list_stores(merchant_id: int | None = None) -> Tx[list[Store]]:
    if merchant_id is None:
        rows = (yield fetch_all("SELECT store_id, merchant_id, name FROM stores ORDER BY 1")).rows
    else:
        rows = (
            yield fetch_all(
                "SELECT store_id, merchant_id, name FROM stores WHERE merchant_id = ? ORDER BY 1",
                merchant_id,
            )
        ).rows
    return [Store(row["store_id"], row["merchant_id"], row["name"]) for row in rows]


def list_cashiers(store_id: int | None = None) -> Tx[list[Cashier]]:
    sql = "SELECT cashier_id, store_id, name FROM cashiers"
    rows = (
        (yield fetch_all(sql + " ORDER BY 1")).rows
        if store_id is None
        else (yield fetch_all(sql + " WHERE store_id = ? ORDER BY 1", store_id)).rows
    )
    return [Cashier(row["cashier_id"], row["store_id"], row["name"]) for row in rows]
