"""``jubao merchant|app|store|cashier ...``: the merchant records and their app credentials."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from jubao.cli.common import as_json_option, directory, echo_rows, opened, run_async, settings
from jubao.kinds import ChannelName
from jubao.merchants import repository as merchant_repo
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import Merchant, MerchantChannel

__all__ = ["app", "cashier", "merchant", "store"]


@click.group()
def merchant() -> None:
    """Merchants and their channel bindings (WeChat sub-merchant, Alipay authorisation)."""


@merchant.command("create")
@click.option("--name", required=True)
@click.option("--sub-mchid", required=True, help="WeChat sub-merchant id")
@click.option("--sub-appid", required=True, help="the mini-program's appid")
@click.option("--callback-url", default=None, help="default notification URL for its app")
@click.option(
    "--vendor", "vendor_sn", default=None, help="the vendor (VENDOR_SN) the merchant belongs to"
)
@click.pass_context
@run_async
async def merchant_create(
    ctx: click.Context,
    name: str,
    sub_mchid: str,
    sub_appid: str,
    callback_url: str | None,
    vendor_sn: str | None,
) -> None:
    """Create a merchant and its first app; the app secret is shown only now. With
    ``--vendor``, that vendor may also act for it (Open API 2.0)."""
    configured = settings(ctx)
    async with opened(configured) as db:
        merchants = directory(db, configured)
        if vendor_sn is not None and await merchants.vendor(vendor_sn) is None:
            raise click.BadParameter(f"no vendor {vendor_sn}", param_hint="--vendor")
        created = await merchants.create_merchant(name, sub_mchid, sub_appid, vendor_sn=vendor_sn)
        new_app = await merchants.create_app(created.merchant_id, callback_url)
    click.echo(f"merchant_id {created.merchant_id}")
    if vendor_sn is not None:
        click.echo(f"vendor_sn   {vendor_sn}")
    click.echo(f"app_id      {new_app.app.app_id}")
    click.echo(f"app_secret  {new_app.app_secret}   (shown once: store it now)")


@merchant.command("list")
@as_json_option
@click.pass_context
@run_async
async def merchant_list(ctx: click.Context, as_json: bool) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        merchants = await directory(db, configured).list_merchants()

    def alipay_pid(item: Merchant) -> str:
        bound = item.channel(ChannelName.ALIPAY)
        return bound.channel_merchant_id if bound else ""

    rows = [
        {"merchant_id": m.merchant_id, "name": m.name, "sub_mchid": m.sub_mchid,
         "sub_appid": m.sub_appid, "alipay_pid": alipay_pid(m), "vendor_sn": m.vendor_sn}
        for m in merchants
    ]  # fmt: skip
    echo_rows(
        as_json,
        rows,
        lambda r: (
            f"{r['merchant_id']}\t{r['name']}\tsub_mchid={r['sub_mchid']}"
            f"\tsub_appid={r['sub_appid']}\talipay_pid={r['alipay_pid'] or '-'}"
            f"\tvendor_sn={r['vendor_sn'] or '-'}"
        ),
    )


_ALIPAY_PID = "2088 followed by 12 digits"


@merchant.command("bind-alipay")
@click.argument("merchant_id", type=int)
@click.option("--pid", required=True, help=f"the merchant's Alipay PID ({_ALIPAY_PID})")
@click.option(
    "--auth-token", required=True, help="the app_auth_token the merchant granted the ISV app"
)
@click.pass_context
@run_async
async def merchant_bind_alipay(
    ctx: click.Context, merchant_id: int, pid: str, auth_token: str
) -> None:
    """Bind MERCHANT_ID to Alipay (replacing a previous binding: a renewed token applies to
    its open orders too)."""
    if len(pid) != 16 or not pid.startswith("2088") or not (pid.isascii() and pid.isdigit()):
        raise click.BadParameter(f"expected {_ALIPAY_PID}", param_hint="--pid")
    if not auth_token.strip() or not auth_token.isascii() or len(auth_token) > 64:
        raise click.BadParameter("expected the app_auth_token (ASCII)", param_hint="--auth-token")
    configured = settings(ctx)
    async with opened(configured) as db:
        merchants = directory(db, configured)
        if await merchants.merchant(merchant_id) is None:
            raise click.ClickException(f"no merchant {merchant_id}")
        binding = MerchantChannel(ChannelName.ALIPAY, pid, auth_token=auth_token.strip())
        await merchants.bind_channel(merchant_id, binding)
    click.echo(f"merchant {merchant_id}: bound to Alipay as {pid}")


@click.group()
def app() -> None:
    """Apps: the app_id / app_secret credentials merchants sign with."""


@app.command("create")
@click.option("--merchant-id", type=int, required=True)
@click.option("--callback-url", default=None)
@click.option("--strict-nonce", is_flag=True, help="refuse a nonce reused within 24 h")
@click.pass_context
@run_async
async def app_create(
    ctx: click.Context, merchant_id: int, callback_url: str | None, strict_nonce: bool
) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        new_app = await directory(db, configured).create_app(
            merchant_id, callback_url, strict_nonce=strict_nonce
        )
    click.echo(f"app_id      {new_app.app.app_id}")
    click.echo(f"app_secret  {new_app.app_secret}   (shown once: store it now)")


@app.command("list")
@as_json_option
@click.pass_context
@run_async
async def app_list(ctx: click.Context, as_json: bool) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        apps = await directory(db, configured).list_apps()
    # never the secret
    rows = [
        {"app_id": a.app_id, "merchant_id": a.merchant.merchant_id, "callback_url": a.callback_url}
        for a in apps
    ]
    echo_rows(
        as_json,
        rows,
        lambda r: (
            f"{r['app_id']}\tmerchant_id={r['merchant_id']}\tcallback={r['callback_url'] or '-'}"
        ),
    )


@app.command("rotate-secret")
@click.argument("app_id")
@click.pass_context
@run_async
async def app_rotate(ctx: click.Context, app_id: str) -> None:
    """Replace an app's secret; the new one is shown once."""
    configured = settings(ctx)
    async with opened(configured) as db:
        secret = await directory(db, configured).rotate_secret(app_id)
    if secret is None:
        raise click.ClickException(f"no app {app_id}")
    click.echo(f"app_secret  {secret}   (shown once: store it now)")


async def _switch(
    ctx: click.Context,
    app_id: str,
    mode: str,
    what: str,
    apply: Callable[[MerchantDirectory, str, bool], Awaitable[bool]],
) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        found = await apply(directory(db, configured), app_id, mode == "on")
    if not found:
        raise click.ClickException(f"no app {app_id}")
    click.echo(f"app {app_id}: {what} {mode} (effective within 5 s)")


@app.command("set-strict-nonce")
@click.argument("app_id")
@click.argument("mode", type=click.Choice(["on", "off"]))
@click.pass_context
@run_async
async def set_strict_nonce(ctx: click.Context, app_id: str, mode: str) -> None:
    """Refuse (on) or allow (off) a nonce reused within 24 h by APP_ID."""
    await _switch(ctx, app_id, mode, "strict nonce", MerchantDirectory.set_strict_nonce)


@app.command("set-refund-notifications")
@click.argument("app_id")
@click.argument("mode", type=click.Choice(["on", "off"]))
@click.pass_context
@run_async
async def set_refund_notifications(ctx: click.Context, app_id: str, mode: str) -> None:
    """Notify (on) or not (off) refund results to APP_ID's callback. Fubei 1.0 sends none:
    off for new apps; apps from before migration 0003 kept them on."""
    await _switch(ctx, app_id, mode, "refund notifications", MerchantDirectory.set_refund_notify)


@click.group()
def store() -> None:
    """Stores (门店) of a merchant."""


@store.command("create")
@click.option("--merchant-id", type=int, required=True)
@click.option("--name", required=True)
@click.pass_context
@run_async
async def store_create(ctx: click.Context, merchant_id: int, name: str) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        created = await directory(db, configured).create_store(merchant_id, name)
    click.echo(f"store_id {created.store_id}")


@store.command("list")
@click.option("--merchant-id", type=int, default=None)
@as_json_option
@click.pass_context
@run_async
async def store_list(ctx: click.Context, merchant_id: int | None, as_json: bool) -> None:
    async with opened(settings(ctx)) as db:
        stores = await db.read(lambda: merchant_repo.list_stores(merchant_id))
    rows = [{"store_id": s.store_id, "merchant_id": s.merchant_id, "name": s.name} for s in stores]
    echo_rows(
        as_json, rows, lambda r: f"{r['store_id']}\tmerchant_id={r['merchant_id']}\t{r['name']}"
    )


@click.group()
def cashier() -> None:
    """Cashiers (收银员) of a store."""


@cashier.command("create")
@click.option("--store-id", type=int, required=True)
@click.option("--name", required=True)
@click.pass_context
@run_async
async def cashier_create(ctx: click.Context, store_id: int, name: str) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        created = await directory(db, configured).create_cashier(store_id, name)
    click.echo(f"cashier_id {created.cashier_id}")


@cashier.command("list")
@click.option("--store-id", type=int, default=None)
@as_json_option
@click.pass_context
@run_async
async def cashier_list(ctx: click.Context, store_id: int | None, as_json: bool) -> None:
    async with opened(settings(ctx)) as db:
        cashiers = await db.read(lambda: merchant_repo.list_cashiers(store_id))
    rows = [{"cashier_id": c.cashier_id, "store_id": c.store_id, "name": c.name} for c in cashiers]
    echo_rows(as_json, rows, lambda r: f"{r['cashier_id']}\tstore_id={r['store_id']}\t{r['name']}")
