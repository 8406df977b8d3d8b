"""``jubao sandbox|simulator|serve|worker|migrate``: the long-running processes, and the schema."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import click

from jubao.cli.common import opened, run_async, settings
from jubao.config import Settings
from jubao.runtime import build_runtime, production_channel, require_sealed_secrets

__all__ = ["migrate", "sandbox", "serve", "simulator", "worker"]


def _serve_forever(app: Any, configured: Settings, **uvicorn_options: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app, host=configured.host, port=configured.port, lifespan="on", **uvicorn_options
    )
    return uvicorn.Server(config).serve()


@click.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.pass_context
def sandbox(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Gateway + WeChat Pay simulator + demo merchant in one process (default 127.0.0.1:8600)."""
    from jubao.sandbox import build_sandbox

    configured = settings(ctx, host=host, port=port, notify_allow_private=True)

    async def serve() -> None:
        app, _runtime, _simulator, info = await build_sandbox(configured)
        _print_summary(info)
        await _serve_forever(app, configured, log_level="warning")

    asyncio.run(serve())


@click.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=8610, show_default=True)
@click.pass_context
def simulator(ctx: click.Context, host: str | None, port: int) -> None:
    """The WeChat Pay simulator alone, as upstream for `jubao serve` / `jubao worker`.

    Writes DATA_DIR/channel.env with the JUBAO_* settings that point them at it.
    """
    from jubao.sandbox import build_standalone_simulator

    configured = settings(ctx, host=host, port=port)

    async def serve() -> None:
        app = await build_standalone_simulator(configured)
        click.echo(f"WeChat Pay simulator on {configured.resolved_public_url}")
        click.echo(f"  settings for jubao serve / worker: {configured.data_dir / 'channel.env'}")
        await _serve_forever(app, configured, log_level="warning")

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


def _production_settings(ctx: click.Context) -> Settings:
    """Settings for ``serve`` and ``worker``: refused without a master key (unless
    JUBAO_ALLOW_PLAINTEXT_SECRETS) before anything starts."""
    configured = settings(ctx)
    require_sealed_secrets(configured)
    return configured


@click.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """The gateway alone, with production settings (JUBAO_* variables; no simulator)."""
    from jubao.security.admin_token import refuse_weak_admin_token
    from jubao.web.app import create_app

    configured = _production_settings(ctx)
    refuse_weak_admin_token(configured.admin_token)

    async def run() -> None:
        runtime = await build_runtime(configured, production_channel(configured), maintenance=False)
        await _serve_forever(create_app(runtime), configured)

    asyncio.run(run())


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Background work without HTTP: notification delivery and payment maintenance
    (expiry, reconciliation) until SIGTERM or SIGINT."""
    configured = _production_settings(ctx)

    async def run() -> None:
        runtime = await build_runtime(configured, production_channel(configured))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await runtime.start()
        click.echo("jubao worker running (notifications, maintenance); SIGTERM to stop")
        try:
            await stop.wait()
        finally:
            await runtime.stop()

    asyncio.run(run())


@click.command()
@click.pass_context
@run_async
async def migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations."""
    async with opened(settings(ctx)):
        pass
    click.echo("migrations applied")
