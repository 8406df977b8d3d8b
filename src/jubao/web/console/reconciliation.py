"""The reconciliation page: runs and their counts, the differences (open ones first), a run for a
chosen day, an operator closing a difference, and the differences as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from starlette.responses import Response

from jubao.clock import Clock
from jubao.errors import JubaoError
from jubao.kinds import ChannelName
from jubao.money import fen_to_yuan_text
from jubao.reconciliation import days
from jubao.reconciliation import repository as repo
from jubao.reconciliation.records import COUNTED, DifferenceRecord
from jubao.web.console.common import Ctx, Renderer, redirect

if TYPE_CHECKING:
    from jubao.runtime import Runtime

__all__ = ["ReconciliationPages", "csv_cell"]

_NOTICES = {"ran", "resolved", "failed"}
_MAX_ID = 2**63 - 1
CSV_COLUMNS = (
    "date", "channel", "kind", "order_sn", "refund_sn", "channel_yuan", "jubao_yuan",
    "transaction_id", "detail", "resolved", "resolution",
)  # fmt: skip


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _channel(text: str | None) -> ChannelName | None:
    try:
        return ChannelName(text) if text else None
    except ValueError:
        return None


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _yuan(fen: int | None) -> str:
    return "" if fen is None else fen_to_yuan_text(fen)


class ReconciliationPages:
    def __init__(self, runtime: Runtime, renderer: Renderer, clock: Clock) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.renderer = renderer
        self.clock = clock

    async def _differences(self, ctx: Ctx) -> tuple[dict[str, str], list[DifferenceRecord]]:
        params = ctx.request.query_params
        day, channel = _day(params.get("date")), _channel(params.get("channel"))
        show_all = params.get("all") == "1"
        found = await self.db.read(
            partial(repo.differences, day=day, channel=channel, unresolved_only=not show_all)
        )
        kept = {
            "date": day.isoformat() if day else "",
            "channel": channel.value if channel else "",
            "all": "1" if show_all else "",
        }
        return kept, found

    async def show(self, ctx: Ctx) -> Response:
        filters, found = await self._differences(ctx)
        runs = await self.db.read(partial(repo.list_runs, 30))
        notice = ctx.request.query_params.get("notice", "")
        yesterday = days.today(self.clock()).toordinal() - 1
        return self.renderer.page(
            ctx,
            "console_reconciliation.html",
            nav="reconciliation",
            runs=runs,
            differences=found,
            filters=filters,
            counted=COUNTED,
            channels=[c.name.value for c in self.runtime.channels],
            notice=notice if notice in _NOTICES else "",
            default_day=date.fromordinal(yesterday).isoformat(),
        )

    async def export(self, ctx: Ctx) -> Response:
        _, found = await self._differences(ctx)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for d in found:
            writer.writerow(
                [
                    d.day.isoformat(),
                    d.channel.value,
                    d.kind.value,
                    csv_cell(d.order_sn),
                    csv_cell(d.refund_sn),
                    _yuan(d.channel_fen),
                    _yuan(d.jubao_fen),
                    csv_cell(d.transaction_id),
                    csv_cell(d.detail),
                    "1" if d.resolved else "0",
                    csv_cell(d.resolution),
                ]
            )
        return Response(
            "\ufeff" + out.getvalue(),  # a BOM, so that spreadsheet programs read UTF-8
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="jubao-reconciliation.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def run(self, ctx: Ctx) -> Response:
        day, channel = _day(ctx.field("date")), _channel(ctx.field("channel"))
        if day is None or day > days.today(self.clock()):
            return self.renderer.page(
                ctx, "console_error.html", status=422, message=ctx.t("recon.bad_date")
            )
        names = [channel] if channel else [c.name for c in self.runtime.channels]
        failed = False
        try:
            for name in names:
                outcome = await self.runtime.reconciler.run(day, name, started_by="console")
                failed = failed or bool(outcome.run.error)
        except JubaoError as exc:
            return self.renderer.page(ctx, "console_error.html", status=422, message=exc.message)
        self.runtime.poke_dispatcher()  # a repaired order's notification goes out now
        return redirect(
            "/reconciliation", notice="failed" if failed else "ran", date=day.isoformat()
        )

    async def resolve(self, ctx: Ctx) -> Response:
        difference_id: int = ctx.request.path_params["difference_id"]
        note = ctx.field("resolution") or ctx.t("recon.resolved_by_operator")
        if difference_id <= _MAX_ID:
            await self.db.write(partial(repo.resolve_difference, difference_id, note, self.clock()))
        return redirect("/reconciliation", notice="resolved")
