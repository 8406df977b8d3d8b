"""``jubao reconcile``: a day's channel statements against jubao's orders and refunds."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click

from jubao.cli.common import run_async, settings
from jubao.kinds import ChannelName
from jubao.money import fen_to_yuan
from jubao.reconciliation.classify import DifferenceKind
from jubao.reconciliation.records import COUNTED, DifferenceRecord, RunStatus
from jubao.reconciliation.service import RunOutcome
from jubao.runtime import build_runtime, production_channels

__all__ = ["reconcile"]

# what each class means, for the text report (docs/reconciliation.md says what to do)
LABELS = {
    DifferenceKind.MATCHED: "matched",
    DifferenceKind.CHANNEL_ONLY: "paid at the channel only",
    DifferenceKind.JUBAO_ONLY: "paid in jubao only",
    DifferenceKind.AMOUNT_DIFFERS: "amount differs",
    DifferenceKind.REFUND_CHANNEL_ONLY: "refunded at the channel only",
    DifferenceKind.REFUND_JUBAO_ONLY: "refunded in jubao only",
    DifferenceKind.NOT_JUBAO: "not a jubao order",
}


def _day(_ctx: click.Context, _param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@click.command()
@click.option("--date", "day", required=True, callback=_day, help="the day, YYYY-MM-DD (China)")
@click.option(
    "--channel",
    type=click.Choice([name.value for name in ChannelName]),
    default=None,
    help="one channel (default: every configured channel)",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.pass_context
@run_async
async def reconcile(ctx: click.Context, day: date, channel: str | None, as_json: bool) -> None:
    """Reconcile a day's channel statements with jubao's orders and refunds; payments jubao
    missed are repaired (paid once, the merchant notified). Exit status 0 when it ran, whatever
    it found; 1 when a statement could not be had."""
    configured = settings(ctx)
    runtime = await build_runtime(configured, *production_channels(configured), maintenance=False)
    try:
        reconciler = runtime.reconciler
        names = [ChannelName(channel)] if channel else reconciler.channel_names
        outcomes = [await reconciler.run(day, name, started_by="cli") for name in names]
    finally:
        await runtime.stop()
    if as_json:
        click.echo(json.dumps(_as_json(day, outcomes), ensure_ascii=False, indent=2))
    else:
        for outcome in outcomes:
            _echo(outcome)
    failed = [o.run for o in outcomes if o.run.status != RunStatus.DONE]
    if failed:
        names_text = ", ".join(f"{run.channel.value} ({run.error})" for run in failed)
        raise click.ClickException(f"no statement for {day}: {names_text}")


def _as_json(day: date, outcomes: list[RunOutcome]) -> dict[str, Any]:
    counts = {kind.value: sum(o.run.counts[kind] for o in outcomes) for kind in COUNTED}
    return {
        "date": day.isoformat(),
        "counts": counts,
        "repaired": sum(o.run.repaired for o in outcomes),
        "runs": [o.run.as_json() for o in outcomes],
        "differences": [d.as_json() for o in outcomes for d in o.differences],
    }


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else str(fen_to_yuan(fen))


def _echo(outcome: RunOutcome) -> None:
    run = outcome.run
    click.echo(f"{run.day} {run.channel.value}: run {run.run_id} {run.status.value}")
    if run.status != RunStatus.DONE:
        click.echo(f"  {run.error}")
        return
    click.echo(f"  statement lines {run.statement_lines}, repaired {run.repaired}")
    for kind in COUNTED:
        click.echo(f"  {LABELS[kind]:<30}{run.counts[kind]:>6}")
    for difference in outcome.differences:
        click.echo(_difference_line(difference))


def _difference_line(d: DifferenceRecord) -> str:
    serial = f"{d.order_sn} {d.refund_sn}".strip()
    state = f"resolved: {d.resolution}" if d.resolved else "open"
    return (
        f"  {d.kind.value:<20} {serial}  channel {_yuan(d.channel_fen)}  "
        f"jubao {_yuan(d.jubao_fen)}  {d.detail}  [{state}]"
    )
