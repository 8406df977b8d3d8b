"""``jubao vendor create|list|rotate-secret``: service providers (服务商), who sign Open API 2.0
requests (``POST /gateway/agent``) with ``vendor_sn`` + vendor secret for their own merchants."""

from __future__ import annotations

import click

from jubao.cli.common import as_json_option, directory, echo_rows, opened, run_async, settings

__all__ = ["vendor"]


@click.group()
def vendor() -> None:
    """Vendors (service providers): the vendor_sn / vendor secret of Open API 2.0."""


@vendor.command("create")
@click.option("--name", required=True)
@click.pass_context
@run_async
async def vendor_create(ctx: click.Context, name: str) -> None:
    """Create a vendor; its secret is shown only now. Give it merchants with
    ``jubao merchant create --vendor VENDOR_SN``."""
    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    configured = settings(ctx)
    async with opened(configured) as db:
        created = await directory(db, configured).create_vendor(name.strip())
    click.echo(f"vendor_sn      {created.vendor.vendor_sn}")
    click.echo(f"vendor_secret  {created.vendor_secret}   (shown once: store it now)")


@vendor.command("list")
@as_json_option
@click.pass_context
@run_async
async def vendor_list(ctx: click.Context, as_json: bool) -> None:
    configured = settings(ctx)
    async with opened(configured) as db:
        vendors = await directory(db, configured).list_vendors()
    # never the secret
    rows = [
        {"vendor_sn": v.vendor_sn, "name": v.name, "merchants": count, "created_at": v.created_at}
        for v, count in vendors
    ]
    echo_rows(as_json, rows, lambda r: f"{r['vendor_sn']}\t{r['name']}\tmerchants={r['merchants']}")


@vendor.command("rotate-secret")
@click.argument("vendor_sn")
@click.pass_context
@run_async
async def vendor_rotate(ctx: click.Context, vendor_sn: str) -> None:
    """Replace a vendor's secret; the new one is shown once (in force within 5 s)."""
    configured = settings(ctx)
    async with opened(configured) as db:
        secret = await directory(db, configured).rotate_vendor_secret(vendor_sn)
    if secret is None:
        raise click.ClickException(f"no vendor {vendor_sn}")
    click.echo(f"vendor_secret  {secret}   (shown once: store it now)")
