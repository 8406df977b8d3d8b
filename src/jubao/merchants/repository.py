"""Units of work for merchants, apps, vendors, stores and cashiers.

App and vendor secrets are sealed at rest (``security.sealing``): units that write or read them
take the ``Sealer``; the associated data binds each sealed secret to its ``app_id`` or
``vendor_sn``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jubao.kinds import ChannelName
from jubao.merchants.models import App, Cashier, Merchant, MerchantChannel, Store, Vendor
from jubao.security.sealing import Sealer, key_id_of
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one

__all__ = [
    "UNSEALED",
    "Callbacks",
    "bind_channel",
    "find_app",
    "find_callbacks",
    "find_cashier",
    "find_merchant",
    "find_store",
    "find_vendor",
    "insert_app",
    "insert_cashier",
    "insert_merchant",
    "insert_store",
    "insert_vendor",
    "list_apps",
    "list_cashiers",
    "list_merchants",
    "list_stores",
    "list_vendors",
    "reseal_app_secrets",
    "reseal_vendor_secrets",
    "secret_aad",
    "secret_key_ids",
    "set_callbacks",
    "set_merchant_vendor",
    "set_refund_notify",
    "set_strict_nonce",
    "token_aad",
    "update_app_secret",
    "update_vendor_secret",
    "vendor_aad",
    "vendor_merchant",
]

UNSEALED = Sealer(None)  # no master key: secrets stored and read as plaintext

_APP_SELECT = (
    "SELECT a.app_id, a.app_secret, a.callback_url, a.strict_nonce, a.refund_notify, "
    "m.merchant_id, m.name, m.vendor_sn "
    "FROM apps a JOIN merchants m ON m.merchant_id = a.merchant_id"
)


def secret_aad(app_id: str) -> bytes:
    """Associated data of a sealed app secret: the value is valid for this app only."""
    return f"jubao:apps.app_secret:{app_id}".encode()


def vendor_aad(vendor_sn: str) -> bytes:
    """Associated data of a sealed vendor secret: the value is valid for this vendor only."""
    return f"jubao:vendors.vendor_secret:{vendor_sn}".encode()


def token_aad(merchant_id: int, channel: str) -> bytes:
    """Associated data of a sealed channel token: valid for this merchant and channel only."""
    return f"jubao:merchant_channels.auth_token:{merchant_id}:{channel}".encode()


def _channel(row: Row, sealer: Sealer) -> MerchantChannel:
    token = row["auth_token"]
    if token is not None:
        token = sealer.open(token, token_aad(int(row["merchant_id"]), row["channel"]))
    return MerchantChannel(
        ChannelName(row["channel"]),
        row["channel_merchant_id"],
        row["mina_app_id"],
        row["jsapi_app_id"],
        token,
    )


def _merchant_channels(merchant_id: int, sealer: Sealer) -> Tx[tuple[MerchantChannel, ...]]:
    rows = (
        yield fetch_all(
            "SELECT * FROM merchant_channels WHERE merchant_id = ? ORDER BY channel", merchant_id
        )
    ).rows
    return tuple(_channel(row, sealer) for row in rows)


def find_merchant(merchant_id: int, sealer: Sealer = UNSEALED) -> Tx[Merchant | None]:
    row = (
        yield fetch_one(
            "SELECT merchant_id, name, vendor_sn FROM merchants WHERE merchant_id = ?", merchant_id
        )
    ).first
    if row is None:
        return None
    channels = yield from _merchant_channels(merchant_id, sealer)
    return Merchant(row["merchant_id"], row["name"], channels, row["vendor_sn"])


def _app(row: Row, sealer: Sealer) -> Tx[App]:
    app_id = row["app_id"]
    secret = sealer.open(row["app_secret"], secret_aad(app_id))
    channels = yield from _merchant_channels(row["merchant_id"], sealer)
    return App(
        app_id,
        Merchant(row["merchant_id"], row["name"], channels, row["vendor_sn"]),
        secret,
        row["callback_url"],
        bool(row["strict_nonce"]),
        bool(row["refund_notify"]),
    )


def insert_merchant(
    name: str, sub_mchid: str, sub_appid: str, now: int, vendor_sn: str | None = None
) -> Tx[Merchant]:
    """A merchant with its WeChat Pay binding (sub_mchid and its mini-program's sub_appid),
    belonging to ``vendor_sn`` when given."""
    row = (
        yield fetch_one(
            "INSERT INTO merchants (name, created_at, vendor_sn) VALUES (?, ?, ?) "
            "RETURNING merchant_id",
            name,
            now,
            vendor_sn,
        )
    ).first
    assert row is not None
    merchant_id = int(row["merchant_id"])
    wechat = MerchantChannel(ChannelName.WECHATPAY, sub_mchid, mina_app_id=sub_appid)
    yield from bind_channel(merchant_id, wechat, now)
    merchant = yield from find_merchant(merchant_id)
    assert merchant is not None
    return merchant


def bind_channel(
    merchant_id: int, binding: MerchantChannel, now: int, sealer: Sealer = UNSEALED
) -> Tx[None]:
    """Bind a merchant to a channel, replacing its previous binding there. Its token (Alipay's
    app_auth_token) is sealed at rest like app secrets."""
    token = binding.auth_token
    if token is not None:
        token = sealer.seal(token, token_aad(merchant_id, binding.channel.value))
    yield execute(
        "INSERT INTO merchant_channels (merchant_id, channel, channel_merchant_id, mina_app_id, "
        "jsapi_app_id, auth_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (merchant_id, channel) DO UPDATE SET "
        "channel_merchant_id = excluded.channel_merchant_id, "
        "mina_app_id = excluded.mina_app_id, jsapi_app_id = excluded.jsapi_app_id, "
        "auth_token = excluded.auth_token, updated_at = excluded.updated_at",
        merchant_id,
        binding.channel.value,
        binding.channel_merchant_id,
        binding.mina_app_id,
        binding.jsapi_app_id,
        token,
        now,
        now,
    )


def insert_app(
    app_id: str,
    merchant_id: int,
    secret: str,
    callback_url: str | None,
    now: int,
    sealer: Sealer = UNSEALED,
    *,
    strict_nonce: bool = False,
) -> Tx[App]:
    yield execute(
        "INSERT INTO apps (app_id, merchant_id, app_secret, callback_url, created_at, "
        "strict_nonce) VALUES (?, ?, ?, ?, ?, ?)",
        app_id,
        merchant_id,
        sealer.seal(secret, secret_aad(app_id)),
        callback_url,
        now,
        int(strict_nonce),
    )
    app = yield from find_app(app_id, sealer)
    assert app is not None
    return app


def find_app(app_id: str, sealer: Sealer = UNSEALED) -> Tx[App | None]:
    row = (yield fetch_one(_APP_SELECT + " WHERE a.app_id = ?", app_id)).first
    return (yield from _app(row, sealer)) if row else None


def list_apps(sealer: Sealer = UNSEALED) -> Tx[list[App]]:
    rows = (yield fetch_all(_APP_SELECT + " ORDER BY a.created_at")).rows
    apps = []
    for row in rows:
        apps.append((yield from _app(row, sealer)))
    return apps


def list_merchants(sealer: Sealer = UNSEALED) -> Tx[list[Merchant]]:
    rows = (yield fetch_all("SELECT merchant_id, name, vendor_sn FROM merchants ORDER BY 1")).rows
    merchants = []
    for row in rows:
        channels = yield from _merchant_channels(row["merchant_id"], sealer)
        merchants.append(Merchant(row["merchant_id"], row["name"], channels, row["vendor_sn"]))
    return merchants


def update_app_secret(app_id: str, secret: str, sealer: Sealer = UNSEALED) -> Tx[bool]:
    sealed = sealer.seal(secret, secret_aad(app_id))
    result = yield execute("UPDATE apps SET app_secret = ? WHERE app_id = ?", sealed, app_id)
    return result.rowcount == 1


def set_refund_notify(app_id: str, on: bool) -> Tx[bool]:
    result = yield execute("UPDATE apps SET refund_notify = ? WHERE app_id = ?", int(on), app_id)
    return result.rowcount == 1


def set_strict_nonce(app_id: str, on: bool) -> Tx[bool]:
    result = yield execute("UPDATE apps SET strict_nonce = ? WHERE app_id = ?", int(on), app_id)
    return result.rowcount == 1


def secret_key_ids() -> Tx[list[str]]:
    """The key id of every stored app and vendor secret (the values never leave here)."""

    rows = (yield fetch_all("SELECT app_secret FROM apps")).rows
    vendors = (yield fetch_all("SELECT vendor_secret FROM vendors")).rows
    return [key_id_of(row["app_secret"]) for row in rows] + [
        key_id_of(row["vendor_secret"]) for row in vendors
    ]


def reseal_app_secrets(after: str, limit: int, sealer: Sealer) -> Tx[tuple[str | None, int]]:
    """Re-seal, under the current key, up to ``limit`` apps with ``app_id > after`` whose secret
    is plaintext or under an older key. Returns the last app_id looked at (``None`` at the end)
    and how many values changed. Compare-and-set: a secret rotated meanwhile is left alone."""
    return (yield from _reseal("apps", "app_id", "app_secret", secret_aad, after, limit, sealer))


def reseal_vendor_secrets(after: str, limit: int, sealer: Sealer) -> Tx[tuple[str | None, int]]:
    """The same for vendor secrets."""
    return (
        yield from _reseal(
            "vendors", "vendor_sn", "vendor_secret", vendor_aad, after, limit, sealer
        )
    )


def _reseal(
    table: str,
    key: str,
    column: str,
    aad_of: Callable[[str], bytes],
    after: str,
    limit: int,
    sealer: Sealer,
) -> Tx[tuple[str | None, int]]:
    rows = (
        yield fetch_all(
            f"SELECT {key}, {column} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?",
            after,
            limit,
        )
    ).rows
    changed = 0
    for row in rows:
        stored = row[column]
        if not sealer.needs_reseal(stored):
            continue
        aad = aad_of(row[key])
        resealed = sealer.seal(sealer.open(stored, aad), aad)
        result = yield execute(
            f"UPDATE {table} SET {column} = ? WHERE {key} = ? AND {column} = ?",
            resealed,
            row[key],
            stored,
        )
        changed += result.rowcount
    return (rows[-1][key] if rows else None), changed


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


# ---- vendors (Open API 2.0 service providers) ---------------------------------------------------


def _vendor(row: Row, sealer: Sealer) -> Vendor:
    vendor_sn = row["vendor_sn"]
    secret = sealer.open(row["vendor_secret"], vendor_aad(vendor_sn))
    return Vendor(vendor_sn, row["name"], secret, int(row["created_at"]))


def insert_vendor(
    vendor_sn: str, name: str, secret: str, now: int, sealer: Sealer = UNSEALED
) -> Tx[Vendor]:
    yield execute(
        "INSERT INTO vendors (vendor_sn, vendor_secret, name, created_at) VALUES (?, ?, ?, ?)",
        vendor_sn,
        sealer.seal(secret, vendor_aad(vendor_sn)),
        name,
        now,
    )
    return Vendor(vendor_sn, name, secret, now)


def find_vendor(vendor_sn: str, sealer: Sealer = UNSEALED) -> Tx[Vendor | None]:
    row = (yield fetch_one("SELECT * FROM vendors WHERE vendor_sn = ?", vendor_sn)).first
    return _vendor(row, sealer) if row else None


def list_vendors(sealer: Sealer = UNSEALED) -> Tx[list[tuple[Vendor, int]]]:
    """Every vendor with how many merchants it has, oldest first."""
    rows = (
        yield fetch_all(
            "SELECT v.*, (SELECT COUNT(*) FROM merchants m WHERE m.vendor_sn = v.vendor_sn) "
            "AS merchants FROM vendors v ORDER BY v.created_at, v.vendor_sn"
        )
    ).rows
    return [(_vendor(row, sealer), int(row["merchants"])) for row in rows]


def update_vendor_secret(vendor_sn: str, secret: str, sealer: Sealer = UNSEALED) -> Tx[bool]:
    sealed = sealer.seal(secret, vendor_aad(vendor_sn))
    result = yield execute(
        "UPDATE vendors SET vendor_secret = ? WHERE vendor_sn = ?", sealed, vendor_sn
    )
    return result.rowcount == 1


def set_merchant_vendor(merchant_id: int, vendor_sn: str | None) -> Tx[bool]:
    result = yield execute(
        "UPDATE merchants SET vendor_sn = ? WHERE merchant_id = ?", vendor_sn, merchant_id
    )
    return result.rowcount == 1


def vendor_merchant(
    vendor_sn: str, merchant_id: int, sealer: Sealer = UNSEALED
) -> Tx[Merchant | None]:
    """The merchant, if it belongs to this vendor (``None`` otherwise, whatever the reason)."""
    merchant = yield from find_merchant(merchant_id, sealer)
    return merchant if merchant is not None and merchant.vendor_sn == vendor_sn else None


@dataclass(frozen=True, slots=True)
class Callbacks:
    """A merchant's 2.0 callback addresses (``fbpay.pay.callback.config``)."""

    merchant_id: int
    pay_url: str | None
    refund_url: str | None


def set_callbacks(
    merchant_id: int, pay_url: str | None, refund_url: str | None, now: int
) -> Tx[Callbacks]:
    """Replace the addresses given; one left out (``None``) keeps its current value."""
    yield execute(
        "INSERT INTO merchant_callbacks (merchant_id, pay_url, refund_url, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (merchant_id) DO UPDATE SET "
        "pay_url = COALESCE(excluded.pay_url, merchant_callbacks.pay_url), "
        "refund_url = COALESCE(excluded.refund_url, merchant_callbacks.refund_url), "
        "updated_at = excluded.updated_at",
        merchant_id,
        pay_url,
        refund_url,
        now,
    )
    found = yield from find_callbacks(merchant_id)
    assert found is not None
    return found


def find_callbacks(merchant_id: int) -> Tx[Callbacks | None]:
    row = (
        yield fetch_one("SELECT * FROM merchant_callbacks WHERE merchant_id = ?", merchant_id)
    ).first
    return Callbacks(merchant_id, row["pay_url"], row["refund_url"]) if row else None
