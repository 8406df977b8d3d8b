"""The command line: the other composition root. ``jubao --help`` lists the commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import httpx

from jubao import __version__
from jubao.config import Settings
from jubao.config_check import SettingsGroup, env_file_option
from jubao.merchants import repository as merchant_repo
from jubao.merchants.directory import MerchantDirectory
from jubao.payments import repository as payment_repo
from jubao.security.keys import sealer_for
from jubao.storage.database import Database, open_database

P = ParamSpec("P")
R = TypeVar("R")


def _run(fn: Callable[P, Awaitable[R]]) -> Callable[P, R]:
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


async def _database(settings: Settings) -> Database:
    return await open_database(settings.resolved_database_url)


def _directory(db: Database, ctx: click.Context) -> MerchantDirectory:
    """A directory that seals app secrets under JUBAO_MASTER_KEY (docs/security.md)."""
    return MerchantDirectory(db, sealer=sealer_for(_settings(ctx)))


@contextlib.asynccontextmanager
async def _opened(ctx: click.Context) -> AsyncIterator[Database]:
    db = await _database(_settings(ctx))
    try:
        yield db
    finally:
        await db.close()


@click.group(cls=SettingsGroup)
@click.version_option(__version__, prog_name="jubao")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="default .jubao")
@click.option("--database-url", default=None, help="sqlite:///FILE or postgresql://...")
@env_file_option
@click.pass_context
def main(
    ctx: click.Context, data_dir: Path | None, database_url: str | None, env_file: str | None
) -> None:
    """jubao: a self-hosted aggregated payment gateway speaking the Fubei Open API."""
    ctx.obj = Settings.from_env(data_dir=data_dir, database_url=database_url, env_file=env_file)
    logging.basicConfig(
        level=ctx.obj.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # httpx logs every request at INFO: noise here, and CPU on the hot path
    logging.getLogger("httpx").setLevel(logging.WARNING)


# ---- servers ---------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--data-dir", "local_data_dir", type=click.Path(path_type=Path), default=None)
@click.pass_context
def sandbox(
    ctx: click.Context, host: str | None, port: int | None, local_data_dir: Path | None
) -> None:
    """Gateway + WeChat Pay simulator + demo merchant in one process (default 127.0.0.1:8600)."""
    import uvicorn

    from jubao.sandbox import build_sandbox

    base = _settings(ctx)
    settings = Settings.from_env(
        data_dir=local_data_dir or base.data_dir,
        database_url=base.database_url or None,
        env_file=base.env_file or None,
        host=host,
        port=port,
        notify_allow_private=True,
    )

    async def serve() -> None:
        app, _runtime, _simulator, info = await build_sandbox(settings)
        _print_summary(info)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", lifespan="on"
        )
        await uvicorn.Server(config).serve()

    asyncio.run(serve())


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=8610, show_default=True)
@click.option("--data-dir", "local_data_dir", type=click.Path(path_type=Path), default=None)
@click.pass_context
def simulator(ctx: click.Context, host: str | None, port: int, local_data_dir: Path | None) -> None:
    """The WeChat Pay simulator alone, as upstream for `jubao serve` / `jubao worker`.

    Writes DATA_DIR/channel.env with the JUBAO_* settings that point them at it.
    """
    import uvicorn

    from jubao.sandbox import build_standalone_simulator

    base = _settings(ctx)
    settings = Settings.from_env(
        data_dir=local_data_dir or base.data_dir,
        database_url=base.database_url or None,
        env_file=base.env_file or None,
        host=host,
        port=port,
    )

    async def serve() -> None:
        app = await build_standalone_simulator(settings)
        click.echo(f"WeChat Pay simulator on {settings.resolved_public_url}")
        click.echo(f"  settings for jubao serve / worker: {settings.data_dir / 'channel.env'}")
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", lifespan="on"
        )
        await uvicorn.Server(config).serve()

    asyncio.run(serve())


def _print_summary(info: dict[str, Any]) -> None:
    click.echo("jubao sandbox")
    click.echo(f"  gateway    {info['gateway_url']}")
    click.echo(f"  simulator  {info['simulator_url']}")
    click.echo(f"  app_id     {info['app_id']}   store_id {info['store_id']}")
    click.echo(f"  cashier_id {info['cashier_id']}   sub_appid {info['sub_appid']}")
    click.echo(f"  console    {info['console_url']}   admin token {info['admin_token']}")
    click.echo("  credentials and the paySign public key: DATA_DIR/sandbox.json")
    click.echo("  try it:     .venv/bin/python examples/create_order.py")


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """The gateway alone, with production settings (JUBAO_* variables; no simulator)."""
    import uvicorn

    from jubao.runtime import build_runtime, production_channel
    from jubao.web.app import create_app

    settings = _settings(ctx)

    async def run() -> None:
        runtime = await build_runtime(settings, production_channel(settings), maintenance=False)
        config = uvicorn.Config(
            create_app(runtime), host=settings.host, port=settings.port, lifespan="on"
        )
        await uvicorn.Server(config).serve()

    asyncio.run(run())


@main.command()
@click.pass_context
@_run
async def migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations."""
    db = await _database(_settings(ctx))
    await db.close()
    click.echo("migrations applied")


# ---- merchants -------------------------------------------------------------------------------


@main.group()
def merchant() -> None:
    """Merchants and their WeChat sub-merchant binding."""


@merchant.command("create")
@click.option("--name", required=True)
@click.option("--sub-mchid", required=True, help="WeChat sub-merchant id")
@click.option("--sub-appid", required=True, help="the mini-program's appid")
@click.option("--callback-url", default=None, help="default notification URL for its app")
@click.pass_context
@_run
async def merchant_create(
    ctx: click.Context, name: str, sub_mchid: str, sub_appid: str, callback_url: str | None
) -> None:
    """Create a merchant and its first app; the app secret is shown only now."""
    async with _opened(ctx) as db:
        directory = _directory(db, ctx)
        created = await directory.create_merchant(name, sub_mchid, sub_appid)
        new_app = await directory.create_app(created.merchant_id, callback_url)
    click.echo(f"merchant_id {created.merchant_id}")
    click.echo(f"app_id      {new_app.app.app_id}")
    click.echo(f"app_secret  {new_app.app_secret}   (shown once: store it now)")


@merchant.command("list")
@click.pass_context
@_run
async def merchant_list(ctx: click.Context) -> None:
    async with _opened(ctx) as db:
        merchants = await db.read(merchant_repo.list_merchants)
    for item in merchants:
        click.echo(
            f"{item.merchant_id}\t{item.name}\tsub_mchid={item.sub_mchid}\tsub_appid={item.sub_appid}"
        )


@main.group()
def app() -> None:
    """Apps: the app_id / app_secret credentials merchants sign with."""


@app.command("create")
@click.option("--merchant-id", type=int, required=True)
@click.option("--callback-url", default=None)
@click.option("--strict-nonce", is_flag=True, help="refuse a nonce reused within 24 h")
@click.pass_context
@_run
async def app_create(
    ctx: click.Context, merchant_id: int, callback_url: str | None, strict_nonce: bool
) -> None:
    async with _opened(ctx) as db:
        new_app = await _directory(db, ctx).create_app(
            merchant_id, callback_url, strict_nonce=strict_nonce
        )
    click.echo(f"app_id      {new_app.app.app_id}")
    click.echo(f"app_secret  {new_app.app_secret}   (shown once: store it now)")


@app.command("list")
@click.pass_context
@_run
async def app_list(ctx: click.Context) -> None:
    async with _opened(ctx) as db:
        apps = await _directory(db, ctx).list_apps()
    for item in apps:
        click.echo(
            f"{item.app_id}\tmerchant_id={item.merchant.merchant_id}"
            f"\tcallback={item.callback_url or '-'}"
        )


@app.command("rotate-secret")
@click.argument("app_id")
@click.pass_context
@_run
async def app_rotate(ctx: click.Context, app_id: str) -> None:
    """Replace an app's secret; the new one is shown once."""
    async with _opened(ctx) as db:
        secret = await _directory(db, ctx).rotate_secret(app_id)
    if secret is None:
        raise click.ClickException(f"no app {app_id}")
    click.echo(f"app_secret  {secret}   (shown once: store it now)")


@main.group()
def store() -> None:
    """Stores (门店) of a merchant."""


@store.command("create")
@click.option("--merchant-id", type=int, required=True)
@click.option("--name", required=True)
@click.pass_context
@_run
async def store_create(ctx: click.Context, merchant_id: int, name: str) -> None:
    async with _opened(ctx) as db:
        created = await MerchantDirectory(db).create_store(merchant_id, name)
    click.echo(f"store_id {created.store_id}")


@store.command("list")
@click.option("--merchant-id", type=int, default=None)
@click.pass_context
@_run
async def store_list(ctx: click.Context, merchant_id: int | None) -> None:
    async with _opened(ctx) as db:
        stores = await db.read(lambda: merchant_repo.list_stores(merchant_id))
    for item in stores:
        click.echo(f"{item.store_id}\tmerchant_id={item.merchant_id}\t{item.name}")


@main.group()
def cashier() -> None:
    """Cashiers (收银员) of a store."""


@cashier.command("create")
@click.option("--store-id", type=int, required=True)
@click.option("--name", required=True)
@click.pass_context
@_run
async def cashier_create(ctx: click.Context, store_id: int, name: str) -> None:
    async with _opened(ctx) as db:
        created = await MerchantDirectory(db).create_cashier(store_id, name)
    click.echo(f"cashier_id {created.cashier_id}")


@cashier.command("list")
@click.option("--store-id", type=int, default=None)
@click.pass_context
@_run
async def cashier_list(ctx: click.Context, store_id: int | None) -> None:
    async with _opened(ctx) as db:
        cashiers = await db.read(lambda: merchant_repo.list_cashiers(store_id))
    for item in cashiers:
        click.echo(f"{item.cashier_id}\tstore_id={item.store_id}\t{item.name}")


# ---- sandbox payer ---------------------------------------------------------------------------


@main.command()
@click.argument("order_sn")
@click.option("--openid", default=None, help="the payer (default: the order's payer)")
@click.pass_context
@_run
async def pay(ctx: click.Context, order_sn: str, openid: str | None) -> None:
    """Play the payer of an unpaid order in the sandbox."""
    from jubao.sandbox import load_sandbox_info
    from jubao.sandbox_payer import PayerRefusal, pay_order

    settings = _settings(ctx)
    db = await _database(settings)
    try:
        order = await db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    finally:
        await db.close()
    if order is None:
        raise click.ClickException(f"no order {order_sn}")
    info = load_sandbox_info(settings.data_dir)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await pay_order(
                client, f"{info['simulator_url']}/request-payment", order, openid
            )
    except PayerRefusal as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{answer.status_code} {answer.text}")
    if answer.status_code != 200:
        raise SystemExit(1)


def _register_commands() -> None:
    from jubao.config_check import config
    from jubao.notify.cli import notify, worker
    from jubao.security.cli import secrets, set_strict_nonce

    main.add_command(config)
    main.add_command(secrets)
    app.add_command(set_strict_nonce)

    main.add_command(notify)
    main.add_command(worker)


_register_commands()
