"""``jubao sandbox|simulator|serve|worker|migrate``: the long-running processes, and the schema."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import Coroutine
from typing import Any

import click

from jubao import heap
from jubao.cli.common import chosen_options, opened, run_async, settings
from jubao.config import Settings, env_var
from jubao.runtime import (
    build_runtime,
    production_channels,
    require_sealed_secrets,
    schedule_reconciliation,
)

__all__ = ["migrate", "sandbox", "serve", "simulator", "worker"]


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when it is installed (uvicorn[standard] brings it), as
    ``uvicorn.run`` does for ``serve``: the sandbox, the simulator and the worker run on it too."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] is a dependency
        asyncio.run(main)
        return
    uvloop.run(main)


def _uvicorn_options(configured: Settings) -> dict[str, Any]:
    """What every jubao server gives uvicorn, `serve` and the sandbox and simulator alike."""
    from jubao.web.corking import PROTOCOL

    return {
        "host": configured.host,
        "port": configured.port,
        "lifespan": "on",
        # the gateway's request line replaces it; at log level warning its lines are never
        # shown, but uvicorn still formats each one (a tenth of a query's CPU, docs/benchmarks.md)
        "access_log": False,
        # uvicorn trusts X-Forwarded-* from 127.0.0.1 unless told otherwise: the setting decides
        # (its middleware was also 6 % of a query's CPU)
        "proxy_headers": configured.proxy_headers,
        "forwarded_allow_ips": configured.forwarded_allow_ips,
        "http": PROTOCOL,  # an answer's head and body in one write, a request head bounded
        "ws": "none",  # jubao serves no websocket: an upgrade is a plain request
        "server_header": False,  # no "server: uvicorn" on every answer: says nothing useful
    }


def _serve_forever(app: Any, configured: Settings, **uvicorn_options: Any) -> Any:
    import uvicorn

    heap.settle()
    config = uvicorn.Config(app, **_uvicorn_options(configured), **uvicorn_options)
    return uvicorn.Server(config).serve()


_PLATFORM_MODE = click.option(
    "--wechat-platform-mode",
    type=click.Choice(["public_key", "certificate"]),
    default=None,
    help="how the WeChat simulator signs and the channel verifies: the WeChat Pay public key, "
    "or platform certificates from /v3/certificates (JUBAO_WECHAT_PLATFORM_MODE)",
)


def _mode(chosen: str | None) -> dict[str, str]:
    return {"wechat_platform_mode": chosen} if chosen else {}


@click.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@_PLATFORM_MODE
@click.pass_context
def sandbox(
    ctx: click.Context, host: str | None, port: int | None, wechat_platform_mode: str | None
) -> None:
    """Gateway + WeChat Pay and Alipay simulators + demo merchant in one process
    (default 127.0.0.1:8600)."""
    from jubao.sandbox import build_sandbox

    configured = settings(
        ctx, host=host, port=port, notify_allow_private=True, **_mode(wechat_platform_mode)
    )

    async def serve() -> None:
        app, _runtime, _simulator, info = await build_sandbox(configured)
        _print_summary(info)
        await _serve_forever(app, configured, log_level="warning")

    _run(serve())


@click.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=8610, show_default=True)
@click.option(
    "--channel",
    type=click.Choice(["wechatpay", "alipay"]),
    default="wechatpay",
    show_default=True,
    help="which channel's simulator to serve",
)
@_PLATFORM_MODE
@click.pass_context
def simulator(
    ctx: click.Context, host: str | None, port: int, channel: str, wechat_platform_mode: str | None
) -> None:
    """A channel's simulator alone (WeChat Pay, or Alipay with --channel alipay), as upstream
    for `jubao serve` / `jubao worker`.

    Writes its JUBAO_* settings into DATA_DIR/channel.env, keeping the other channel's lines.
    """
    from jubao.sandbox import build_standalone_simulator

    configured = settings(ctx, host=host, port=port, **_mode(wechat_platform_mode))

    async def serve() -> None:
        app = await build_standalone_simulator(configured, channel=channel)
        name = "Alipay" if channel == "alipay" else "WeChat Pay"
        click.echo(f"{name} simulator on {configured.resolved_public_url}")
        click.echo(f"  settings for jubao serve / worker: {configured.data_dir / 'channel.env'}")
        await _serve_forever(app, configured, log_level="warning")

    _run(serve())


def _print_summary(info: dict[str, Any]) -> None:
    click.echo("jubao sandbox")
    click.echo(f"  gateway    {info['gateway_url']}")
    click.echo(f"  simulator  {info['simulator_url']}")
    click.echo(f"  alipay     {info['alipay']['gateway_url']}")
    click.echo(f"  app_id     {info['app_id']}   store_id {info['store_id']}")
    click.echo(f"  cashier_id {info['cashier_id']}   sub_appid {info['sub_appid']}")
    click.echo(f"  console    {info['console_url']}   admin token {info['admin_token']}")
    click.echo("  credentials and the paySign public key: DATA_DIR/sandbox.json")
    click.echo("  try it:     .venv/bin/python examples/create_order.py")


def _production_settings(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings for ``serve`` and ``worker``: refused without a master key (unless
    JUBAO_ALLOW_PLAINTEXT_SECRETS) before anything starts."""
    configured = settings(ctx, **overrides)
    require_sealed_secrets(configured)
    return configured


# `serve` faces the network without a proxy only in tests: these bound what one client can hold
# (docs/deploy.md, "TLS and a reverse proxy"); the proxy in front still owns TLS and slow clients.
KEEP_ALIVE_SECONDS = 5
MAX_CONNECTIONS = 2048  # per process; beyond it uvicorn answers 503
MAX_HEADER_BYTES = 16 * 1024  # a request head bigger than this is refused (web/corking.py)


@click.command()
@click.option("--host", default=None, help="listen address (JUBAO_HOST)")
@click.option("--port", type=int, default=None, help="listen port (JUBAO_PORT)")
@click.option("--workers", type=int, default=None, help="gateway processes (JUBAO_WORKERS)")
@click.option(
    "--proxy-headers/--no-proxy-headers",
    default=None,
    help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (JUBAO_PROXY_HEADERS)",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="comma-separated proxy addresses, or * (JUBAO_FORWARDED_ALLOW_IPS)",
)
@click.pass_context
def serve(ctx: click.Context, /, **options: Any) -> None:
    """The gateway alone, with production settings (JUBAO_* variables; no simulator)."""
    import uvicorn

    from jubao.security.admin_token import refuse_weak_admin_token

    configured = _production_settings(ctx, **options)
    refuse_weak_admin_token(configured.admin_token)
    production_channels(configured)  # a missing or unreadable key stops here, before uvicorn
    _export(ctx, options, configured.workers)
    uvicorn.run(
        "jubao.web.served:app_from_environment",
        factory=True,
        workers=configured.workers,
        **_uvicorn_options(configured),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        log_config=None,  # jubao's logging (text or JSON) for uvicorn's lines too
    )


def _export(ctx: click.Context, options: dict[str, Any], workers: int) -> None:
    """Put the options given on the command line into the environment, where each uvicorn worker
    process (``jubao.web.served``) reads its settings."""
    chosen: dict[str, Any] = {**chosen_options(ctx), **options}
    for name, value in chosen.items():
        if value is not None:
            os.environ[env_var(name)] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # several processes: metrics through files all of them write (jubao.observe.metrics)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jubao-metrics-")


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Background work without HTTP: notification delivery, payment maintenance (expiry,
    pending orders) and each morning's reconciliation of yesterday's channel statements, until
    SIGTERM or SIGINT."""
    configured = _production_settings(ctx)

    async def run() -> None:
        runtime = await build_runtime(configured, *production_channels(configured))
        schedule_reconciliation(runtime)  # yesterday's statements, each morning, once
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await runtime.start()
        heap.settle()
        click.echo(
            "jubao worker running (notifications, maintenance, reconciliation); SIGTERM to stop"
        )
        try:
            await stop.wait()
        finally:
            await runtime.stop()

    _run(run())  # uvloop, as serve's processes and the benchmark's dispatcher run


@click.command()
@click.pass_context
@run_async
async def migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations."""
    async with opened(settings(ctx)):
        pass
    click.echo("migrations applied")
