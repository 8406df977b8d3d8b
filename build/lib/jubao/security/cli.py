"""``jubao secrets ...`` (master key: status, rotation, a new key) and ``jubao app
set-strict-nonce`` (replay protection per app). Registered by ``jubao.cli``."""

from __future__ import annotations

import asyncio
from collections import Counter
from functools import partial

import click

from jubao.config import Settings
from jubao.merchants import repository as merchant_repo
from jubao.merchants.directory import MerchantDirectory
from jubao.security.keys import sealer_for
from jubao.security.sealing import PLAINTEXT, Sealer, new_master_key_text
from jubao.storage.database import Database, open_database

__all__ = ["reseal_all", "secrets", "set_strict_nonce"]

BATCH = 200


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    return settings if isinstance(settings, Settings) else Settings.from_env()


async def reseal_all(db: Database, sealer: Sealer, batch: int = BATCH) -> int:
    """Re-seal every app secret that is plaintext or under an old key; one transaction per
    batch, idempotent. Returns how many values changed."""
    after, changed = "", 0
    while True:
        unit = partial(merchant_repo.reseal_app_secrets, after, batch, sealer)
        last, count = await db.write(unit)
        changed += count
        if last is None:
            return changed
        after = last


@click.group()
def secrets() -> None:
    """Secrets at rest: app secrets sealed under JUBAO_MASTER_KEY."""


@secrets.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """How many app secrets are under which key (never the values)."""
    settings = _settings(ctx)
    sealer = sealer_for(settings)

    async def run() -> Counter[str]:
        db = await open_database(settings.resolved_database_url)
        try:
            return Counter(await db.read(merchant_repo.secret_key_ids))
        finally:
            await db.close()

    counts = asyncio.run(run())
    current = sealer.current.key_id if sealer.current else None
    click.echo(f"current key: {current or 'none (JUBAO_MASTER_KEY not set)'}")
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
def rotate(ctx: click.Context, batch: int) -> None:
    """Re-seal every app secret under the current JUBAO_MASTER_KEY (plaintext and old keys)."""
    settings = _settings(ctx)
    sealer = sealer_for(settings)
    if not sealer.enabled:
        raise click.ClickException("JUBAO_MASTER_KEY is not set: nothing to seal with")

    async def run() -> int:
        db = await open_database(settings.resolved_database_url)
        try:
            return await reseal_all(db, sealer, batch)
        finally:
            await db.close()

    changed = asyncio.run(run())
    assert sealer.current is not None
    click.echo(f"{changed} app secret(s) re-sealed under key {sealer.current.key_id}")


@secrets.command("new-key")
def new_key() -> None:
    """Print a fresh master key (for JUBAO_MASTER_KEY)."""
    click.echo(new_master_key_text())


@click.command("set-strict-nonce")
@click.argument("app_id")
@click.argument("mode", type=click.Choice(["on", "off"]))
@click.pass_context
def set_strict_nonce(ctx: click.Context, app_id: str, mode: str) -> None:
    """Refuse (on) or allow (off) a nonce reused within 24 h by APP_ID."""
    settings = _settings(ctx)

    async def run() -> bool:
        db = await open_database(settings.resolved_database_url)
        try:
            return await MerchantDirectory(db).set_strict_nonce(app_id, mode == "on")
        finally:
            await db.close()

    if not asyncio.run(run()):
        raise click.ClickException(f"no app {app_id}")
    click.echo(f"app {app_id}: strict nonce {mode} (effective within 5 s)")
