"""``jubao pay``: play the payer against the sandbox's simulator."""

from __future__ import annotations

import click
import httpx

from jubao.cli.common import opened, run_async, settings
from jubao.payments import repository as payment_repo

__all__ = ["pay"]


@click.command()
@click.argument("order_sn")
@click.option(
    "--openid",
    "--buyer",
    "openid",
    default=None,
    help="the payer: a WeChat openid or an Alipay buyer (default: the order's payer)",
)
@click.pass_context
@run_async
async def pay(ctx: click.Context, order_sn: str, openid: str | None) -> None:
    """Play the payer of an unpaid order in the sandbox (WeChat Pay or Alipay)."""
    from jubao.sandbox import load_sandbox_info
    from jubao.sandbox_payer import PayerRefusal, pay_order

    configured = settings(ctx)
    async with opened(configured) as db:
        order = await db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    if order is None:
        raise click.ClickException(f"no order {order_sn}")
    info = load_sandbox_info(configured.data_dir)
    try:
        auth = {"Authorization": f"Bearer {info['admin_token']}"}  # needed off loopback
        async with httpx.AsyncClient(timeout=10, headers=auth) as client:
            answer = await pay_order(client, info["simulators_url"], order, openid)
    except PayerRefusal as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{answer.status_code} {answer.text}")
    if answer.status_code != 200:
        raise SystemExit(1)
