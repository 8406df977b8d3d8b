"""``jubao secrets status|rotate|new-key``: app and vendor secrets at rest and the master key."""

from __future__ import annotations

from collections import Counter
from functools import partial

import click

from jubao.cli.common import opened, run_async, settings
from jubao.merchants import repository as merchant_repo
from jubao.security.keys import sealer_for
from jubao.security.sealing import PLAINTEXT, Sealer, new_master_key_text
from jubao.storage.database import Database

__all__ = ["reseal_all", "secrets"]

BATCH = 200


async def reseal_all(db: Database, sealer: Sealer, batch: int = BATCH) -> int:
    """Re-seal every app and vendor secret that is plaintext or under an old key; one
    transaction per batch, idempotent. Returns how many values changed."""
    changed = 0
    for reseal in (merchant_repo.reseal_app_secrets, merchant_repo.reseal_vendor_secrets):
        after = ""
        while True:
            last, count = await db.write(partial(reseal, after, batch, sealer))
            changed += count
            if last is None:
                break
            after = last
    return changed


@click.group()
def secrets() -> None:
    """Secrets at rest: app secrets sealed under the master key (JUBAO_MASTER_KEY, else
    DATA_DIR/keys/master_key)."""


@secrets.command("status")
@click.pass_context
@run_async
async def status(ctx: click.Context) -> None:
    """How many app and vendor secrets are under which key (never the values)."""
    configured = settings(ctx)
    sealer = sealer_for(configured)
    async with opened(configured) as db:
        counts = Counter(await db.read(merchant_repo.secret_key_ids))
    current = sealer.current.key_id if sealer.current else None
    click.echo(f"current key: {current or 'none (no master key configured)'}")
    for key_id, count in sorted(counts.items()):
        if key_id == PLAINTEXT:
            role = "legacy, not sealed"
        elif key_id == current:
            role = "current"
        elif key_id in sealer.key_ids:
            role = "old key, configured"
        else:
            role = "UNKNOWN key: cannot be opened"
        click.echo(f"{key_id}\t{count}\t{role}")
    if not counts:
        click.echo("no apps")


@secrets.command("rotate")
@click.option("--batch", type=click.IntRange(1, 10_000), default=BATCH, show_default=True)
@click.pass_context
@run_async
async def rotate(ctx: click.Context, batch: int) -> None:
    """Re-seal every app and vendor secret under the current master key (plaintext and old
    keys)."""
    configured = settings(ctx)
    sealer = sealer_for(configured)
    if sealer.current is None:
        raise click.ClickException(
            "no master key (JUBAO_MASTER_KEY or DATA_DIR/keys/master_key): nothing to seal with"
        )
    async with opened(configured) as db:
        changed = await reseal_all(db, sealer, batch)
    click.echo(f"{changed} secret(s) re-sealed under key {sealer.current.key_id}")


@secrets.command("new-key")
def new_key() -> None:
    """Print a fresh master key (for JUBAO_MASTER_KEY)."""
    click.echo(new_master_key_text())
