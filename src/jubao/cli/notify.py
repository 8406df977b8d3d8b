"""``jubao notify list|show|resend``: merchant notifications, inspected and resent."""

from __future__ import annotations

import json
from typing import Any

import click

from jubao.cli.common import as_json_option, echo_rows, opened, run_async, settings
from jubao.clock import from_ms, system_clock
from jubao.notify import repository as repo
from jubao.notify.resend import resend_notification
from jubao.notify.views import notification_view

__all__ = ["notify"]


def _when(ms: int | None) -> str:
    return from_ms(ms).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if ms else "-"


@click.group()
def notify() -> None:
    """Merchant notifications: inspect and resend."""


@notify.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in repo.NotificationStatus]), default=None
)
@click.option("--order-sn", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@as_json_option
@click.pass_context
@run_async
async def notify_list(
    ctx: click.Context, status: str | None, order_sn: str | None, limit: int, as_json: bool
) -> None:
    """Newest first: id, status, attempts, order, next attempt or delivery time, URL."""
    async with opened(settings(ctx)) as db:
        rows = await db.read(lambda: repo.list_notifications(status, order_sn, limit, 0))
    listed = [
        {
            "notification_id": row.notification_id,
            "status": row.status,
            "attempts": row.attempts,
            "kind": row.kind,
            "order_sn": row.order_sn,
            "url": row.url,
            "next_attempt_at": _when(row.next_attempt_at),
            "delivered_at": _when(row.delivered_at),
        }
        for row in rows
    ]

    def text(row: dict[str, Any]) -> str:
        when = row["delivered_at"] if row["status"] == "DELIVERED" else row["next_attempt_at"]
        return (
            f"{row['notification_id']}\t{row['status']}\tattempts={row['attempts']}"
            f"\t{row['kind']}\torder_sn={row['order_sn']}\t{when}\t{row['url']}"
        )

    echo_rows(as_json, listed, text)


@notify.command("show")
@click.argument("notification_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print the admin API's JSON")
@click.pass_context
@run_async
async def notify_show(ctx: click.Context, notification_id: int, as_json: bool) -> None:
    """One notification with every attempt."""
    async with opened(settings(ctx)) as db:
        row = await db.read(lambda: repo.find_notification(notification_id))
    if row is None:
        raise click.ClickException(f"no notification {notification_id}")
    view = notification_view(row)
    if as_json:
        click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
        return
    for key in ("notification_id", "status", "attempts", "kind", "order_sn", "url", "app_id"):
        click.echo(f"{key:<16}{view[key]}")
    for key in ("next_attempt_at", "delivered_at", "created_at"):
        click.echo(f"{key:<16}{_when(view[key])}")
    click.echo(f"{'data':<16}{row.payload}")
    for number, attempt in enumerate(view["attempts_log"], start=1):
        click.echo(
            f"attempt {number:<8}{_when(attempt['started_at'])}  {attempt['duration_ms']} ms"
            f"  http={attempt['http_status'] or '-'}  error={attempt['error'] or '-'}"
            f"  answer={attempt['response_head']!r}"
        )


@notify.command("resend")
@click.argument("notification_id", type=int)
@click.pass_context
@run_async
async def notify_resend(ctx: click.Context, notification_id: int) -> None:
    """Deliver again on a fresh schedule (a running dispatcher picks it up within a poll)."""
    async with opened(settings(ctx)) as db:
        row = await resend_notification(db, notification_id, system_clock())
    if row is None:
        raise click.ClickException(f"no notification {notification_id}")
    click.echo(f"notification {notification_id} queued for delivery (order {row.order_sn})")
