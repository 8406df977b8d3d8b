"""A reconciliation run: fetch a channel's statements for a day (one per bound merchant), read
jubao's books, classify (``classify.py``, pure), repair what was paid at the channel only through
the payment service's own path, and record the run and its differences. A run is re-runnable:
a repaired order is paid by then and matches, so a second run changes no order and notifies
nobody again."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import date
from functools import partial

from jubao.channels.base import (
    Channel,
    ChannelBinding,
    ChannelTransaction,
    StatementLine,
    TradeStatus,
)
from jubao.channels.registry import ChannelRegistry
from jubao.clock import Clock, system_clock
from jubao.errors import (
    BusinessRuleError,
    ChannelError,
    ChannelNotificationRejected,
    ChannelUnavailable,
)
from jubao.kinds import ChannelName
from jubao.merchants.directory import MerchantDirectory
from jubao.payments.service import PaymentService
from jubao.reconciliation import days
from jubao.reconciliation import repository as repo
from jubao.reconciliation.classify import Classification, DifferenceKind, classify
from jubao.reconciliation.records import DifferenceRecord, RunRecord, RunStatus
from jubao.storage.database import Database

__all__ = ["Reconciler", "RunOutcome"]

log = logging.getLogger("jubao.reconciliation")

CLAIM_LEASE_MS = 30 * 60 * 1000  # a worker that dies mid-run frees the day after this
RETRY_MS = 30 * 60 * 1000  # a statement not ready yet (or a channel down) is asked again after this


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run: RunRecord
    differences: list[DifferenceRecord]  # what this run found (repaired ones resolved)


class Reconciler:
    def __init__(
        self,
        db: Database,
        channels: ChannelRegistry,
        merchants: MerchantDirectory,
        payments: PaymentService,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._channels = channels
        self._merchants = merchants
        self._payments = payments
        self._clock = clock

    @property
    def channel_names(self) -> list[ChannelName]:
        return [channel.name for channel in self._channels]

    async def run(self, day: date, name: ChannelName, *, started_by: str = "cli") -> RunOutcome:
        """Reconcile ``day`` on channel ``name``. A statement that cannot be had ends the run
        as FAILED (its error recorded), not with an exception."""
        channel = self._channels.get(name)
        if channel is None:
            raise BusinessRuleError(
                f"本网关未接入通道 {name.value}", sub_code="CHANNEL_NOT_AVAILABLE"
            )
        bindings = await self._bindings(name)
        run = await self._db.write(partial(repo.start_run, day, name, started_by, self._clock()))
        try:
            lines = await _statement(channel, day, bindings)
        except (ChannelError, ChannelUnavailable) as exc:
            log.warning("reconciliation of %s %s: no statement: %s", name.value, day, exc.message)
            error = f"{exc.sub_code}: {exc.message}"
            failed = await self._db.write(partial(repo.fail_run, run.run_id, error, self._clock()))
            return RunOutcome(failed, [])
        except Exception as exc:  # not left RUNNING for ever; the caller sees it too
            error = f"UNEXPECTED: {type(exc).__name__}"
            await self._db.write(partial(repo.fail_run, run.run_id, error, self._clock()))
            raise
        merchant_ids = frozenset(binding.merchant_id for binding in bindings)
        books = await self._db.read(
            partial(
                repo.books,
                name,
                {line.out_trade_no for line in lines},
                {line.out_refund_no for line in lines if line.refund_fen and line.out_refund_no},
                days.window(day),
                merchant_ids,
            )
        )
        found = classify(lines, books)
        repairs = await self._repair(name, found)
        finished = await self._db.write(
            partial(repo.finish_run, run, len(lines), found, repairs, self._clock())
        )
        mine = await self._db.read(
            partial(repo.differences, found_by=finished.run_id, limit=100_000)
        )
        log.info(
            "reconciliation of %s %s: %d lines, %d matched, %d differences, %d repaired",
            name.value,
            day,
            len(lines),
            finished.counts[DifferenceKind.MATCHED],
            finished.differing,
            finished.repaired,
        )
        return RunOutcome(finished, mine)

    async def _bindings(self, name: ChannelName) -> list[ChannelBinding]:
        bindings: dict[str, ChannelBinding] = {}
        for merchant in await self._merchants.list_merchants():
            bound = merchant.channel(name)
            if bound is not None and bound.channel_merchant_id not in bindings:
                bindings[bound.channel_merchant_id] = ChannelBinding(
                    name, bound.channel_merchant_id, None, bound.auth_token
                )
        return list(bindings.values())

    async def _repair(self, name: ChannelName, found: Classification) -> dict[str, repo.Repaired]:
        """Each payment the channel took and jubao does not know as paid is applied as a late
        notification would be (the payment service's path: paid once, notified once)."""
        repairs: dict[str, repo.Repaired] = {}
        for difference in found.differences:
            line = difference.line
            if difference.kind != DifferenceKind.CHANNEL_ONLY or line is None:
                continue
            transaction = ChannelTransaction(
                out_trade_no=line.out_trade_no,
                status=TradeStatus.PAID,
                total_fen=line.total_fen,
                transaction_id=line.transaction_id,
                success_time=line.occurred_at,
                merchant_id=line.merchant_id,
                raw_state="STATEMENT",
            )
            try:
                order = await self._payments.apply_statement_payment(name, transaction)
            except ChannelNotificationRejected as exc:
                repairs[line.out_trade_no] = repo.Repaired(line.out_trade_no, False, exc.message)
                continue
            paid = order is not None and order.paid_at is not None
            resolution = "已补单：订单改为支付成功，商户通知已发出" if paid else "补单未成功"
            repairs[line.out_trade_no] = repo.Repaired(line.out_trade_no, paid, resolution)
            log.warning("reconciliation repaired %s (paid at the channel only)", line.out_trade_no)
        return repairs

    # ---- the morning schedule ---------------------------------------------------------------

    async def run_due(self, hour: int, who: str | None = None) -> list[RunRecord]:
        """The worker's morning run: yesterday's reconciliation of every channel, once the
        China-time ``hour`` has come, claimed in the database so that one worker of several runs
        each day and channel once (a failed run is retried after ``RETRY_MS``)."""
        now = self._clock()
        day = days.due_day(now, hour)
        if day is None:
            return []
        who = who or f"{socket.gethostname()}:{os.getpid()}"
        runs: list[RunRecord] = []
        for name in self.channel_names:
            claimed = await self._db.write(
                partial(repo.claim_day, day, name, who, now, CLAIM_LEASE_MS)
            )
            if not claimed:
                continue
            try:
                outcome = await self.run(day, name, started_by="worker")
            except BaseException:
                await self._db.write(partial(repo.finish_claim, day, name, False, now + RETRY_MS))
                raise
            done = outcome.run.status == RunStatus.DONE
            retry_at = self._clock() + RETRY_MS
            await self._db.write(partial(repo.finish_claim, day, name, done, retry_at))
            runs.append(outcome.run)
        return runs


async def _statement(
    channel: Channel, day: date, bindings: list[ChannelBinding]
) -> list[StatementLine]:
    """Every bound merchant's statement of the day, each line once."""
    lines: dict[tuple[str, str, str, int], StatementLine] = {}
    for binding in bindings:
        for line in await channel.fetch_statement(day, binding):
            key = (
                line.out_trade_no,
                line.out_refund_no or "",
                line.transaction_id,
                line.refund_fen,
            )
            lines.setdefault(key, line)
    return list(lines.values())
