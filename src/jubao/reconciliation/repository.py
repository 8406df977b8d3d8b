"""Units of work for reconciliation: jubao's books for a day, runs, differences, and the
scheduled run's claim."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from jubao.kinds import ChannelName
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.reconciliation.classify import Books, Classification, DifferenceKind
from jubao.reconciliation.records import COUNTED, DifferenceRecord, RunRecord, RunStatus
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one

__all__ = [
    "Repaired",
    "books",
    "claim_day",
    "differences",
    "fail_run",
    "find_run",
    "finish_claim",
    "finish_run",
    "list_runs",
    "open_difference_count",
    "resolve_difference",
    "start_run",
]

_CHUNK = 500  # serials per IN (...) list: well inside every driver's parameter limit


def _chunks(values: Iterable[str] | Iterable[int]) -> Iterable[list[object]]:
    items: list[object] = sorted(set(values))  # type: ignore[type-var]
    for index in range(0, len(items), _CHUNK):
        yield items[index : index + _CHUNK]


def _where_in(sql: str, column: str, values: Iterable[str] | Iterable[int]) -> Tx[list[Row]]:
    rows: list[Row] = []
    for chunk in _chunks(values):
        marks = ", ".join("?" for _ in chunk)
        rows += (yield fetch_all(f"{sql} WHERE {column} IN ({marks})", *chunk)).rows
    return rows


def books(
    channel: ChannelName,
    order_sns: Collection[str],
    refund_sns: Collection[str],
    window: tuple[int, int],
    merchant_ids: frozenset[str],
) -> Tx[Books]:
    """The orders and refunds the statement names, and those jubao booked in ``window`` on
    ``channel``, with the orders of those refunds."""
    start, end = window
    order_rows = yield from _where_in("SELECT * FROM orders", "order_sn", order_sns)
    order_rows += (
        yield fetch_all(
            "SELECT * FROM orders WHERE channel = ? AND paid_at >= ? AND paid_at < ?",
            channel.value,
            start,
            end,
        )
    ).rows
    refund_rows = yield from _where_in("SELECT * FROM refunds", "refund_sn", refund_sns)
    refund_rows += (
        yield fetch_all(
            "SELECT r.* FROM refunds r JOIN orders o ON o.order_id = r.order_id "
            "WHERE o.channel = ? AND r.finished_at >= ? AND r.finished_at < ?",
            channel.value,
            start,
            end,
        )
    ).rows
    orders = {row["order_sn"]: OrderRecord.from_row(row) for row in order_rows}
    refunds = {row["refund_sn"]: RefundRecord.from_row(row) for row in refund_rows}
    by_id = {order.order_id: order for order in orders.values()}
    missing = {r.order_id for r in refunds.values() if r.order_id not in by_id}
    for row in (yield from _where_in("SELECT * FROM orders", "order_id", missing)):
        order = OrderRecord.from_row(row)
        by_id[order.order_id] = order
    return Books(orders, refunds, by_id, window, merchant_ids)


def start_run(day: date, channel: ChannelName, started_by: str, now: int) -> Tx[RunRecord]:
    row = (
        yield fetch_one(
            "INSERT INTO reconciliation_runs (day, channel, status, started_by, started_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING *",
            day.isoformat(),
            channel.value,
            RunStatus.RUNNING.value,
            started_by,
            now,
        )
    ).first
    assert row is not None
    return RunRecord.from_row(row)


def fail_run(run_id: int, error: str, now: int) -> Tx[RunRecord]:
    yield execute(
        "UPDATE reconciliation_runs SET status = ?, error = ?, finished_at = ? WHERE run_id = ?",
        RunStatus.FAILED.value,
        error[:500],
        now,
        run_id,
    )
    return (yield from _run(run_id))


@dataclass(frozen=True, slots=True)
class Repaired:
    """A channel-only payment the run repaired (or failed to: ``resolution`` says why)."""

    order_sn: str
    done: bool
    resolution: str


def finish_run(
    run: RunRecord,
    statement_lines: int,
    found: Classification,
    repairs: dict[str, Repaired],
    now: int,
) -> Tx[RunRecord]:
    """Record what the run found, in one unit: each difference is added or refreshed (a
    repaired one resolved), those of the day that this run no longer finds are resolved, and the
    run gets its counts."""
    day, channel = run.day.isoformat(), run.channel.value
    for difference in found.differences:
        repair = repairs.get(difference.order_sn)
        fixed = difference.kind == DifferenceKind.CHANNEL_ONLY and repair is not None
        resolved = fixed and repair is not None and repair.done
        yield execute(
            "INSERT INTO reconciliation_differences (day, channel, kind, order_sn, refund_sn, "
            "channel_fen, jubao_fen, transaction_id, detail, resolved, resolution, first_run_id, "
            "last_run_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?) ON CONFLICT (day, channel, kind, order_sn, refund_sn) DO UPDATE SET "
            "channel_fen = excluded.channel_fen, jubao_fen = excluded.jubao_fen, "
            "transaction_id = excluded.transaction_id, detail = excluded.detail, "
            "resolved = CASE WHEN excluded.resolved = 1 THEN 1 "
            "ELSE reconciliation_differences.resolved END, "
            "resolution = CASE WHEN excluded.resolved = 1 THEN excluded.resolution "
            "ELSE reconciliation_differences.resolution END, "
            "last_run_id = excluded.last_run_id, updated_at = excluded.updated_at",
            day,
            channel,
            difference.kind.value,
            difference.order_sn,
            difference.refund_sn,
            difference.channel_fen,
            difference.jubao_fen,
            difference.transaction_id,
            difference.detail,
            int(resolved),
            repair.resolution if fixed and repair is not None else "",
            run.run_id,
            run.run_id,
            now,
            now,
        )
    yield execute(
        "UPDATE reconciliation_differences SET resolved = 1, resolution = ?, updated_at = ? "
        "WHERE day = ? AND channel = ? AND resolved = 0 AND last_run_id <> ?",
        f"第 {run.run_id} 次对账不再出现",
        now,
        day,
        channel,
        run.run_id,
    )
    columns = ", ".join(f"{kind.value.lower()} = ?" for kind in COUNTED)
    yield execute(
        f"UPDATE reconciliation_runs SET status = ?, finished_at = ?, statement_lines = ?, "
        f"repaired = ?, {columns} WHERE run_id = ?",
        RunStatus.DONE.value,
        now,
        statement_lines,
        sum(repair.done for repair in repairs.values()),
        *(found.counts.get(kind, 0) for kind in COUNTED),
        run.run_id,
    )
    return (yield from _run(run.run_id))


def _run(run_id: int) -> Tx[RunRecord]:
    found = yield from find_run(run_id)
    assert found is not None
    return found


def find_run(run_id: int) -> Tx[RunRecord | None]:
    row = (yield fetch_one("SELECT * FROM reconciliation_runs WHERE run_id = ?", run_id)).first
    return RunRecord.from_row(row) if row else None


def list_runs(limit: int = 50) -> Tx[list[RunRecord]]:
    rows = (
        yield fetch_all("SELECT * FROM reconciliation_runs ORDER BY run_id DESC LIMIT ?", limit)
    ).rows
    return [RunRecord.from_row(row) for row in rows]


def differences(
    *,
    day: date | None = None,
    channel: ChannelName | None = None,
    unresolved_only: bool = False,
    found_by: int | None = None,
    limit: int = 1000,
) -> Tx[list[DifferenceRecord]]:
    """Differences, newest day first; ``found_by``: those a run found (last saw)."""
    clauses: list[str] = []
    params: list[object] = []
    if found_by is not None:
        clauses.append("last_run_id = ?")
        params.append(found_by)
    if day is not None:
        clauses.append("day = ?")
        params.append(day.isoformat())
    if channel is not None:
        clauses.append("channel = ?")
        params.append(channel.value)
    if unresolved_only:
        clauses.append("resolved = 0")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = (
        yield fetch_all(
            f"SELECT * FROM reconciliation_differences{where} "
            "ORDER BY day DESC, channel, kind, order_sn, refund_sn LIMIT ?",
            *params,
            limit,
        )
    ).rows
    return [DifferenceRecord.from_row(row) for row in rows]


def open_difference_count() -> Tx[int]:
    row = (
        yield fetch_one("SELECT COUNT(*) AS n FROM reconciliation_differences WHERE resolved = 0")
    ).first
    return int(row["n"]) if row else 0


def resolve_difference(difference_id: int, resolution: str, now: int) -> Tx[bool]:
    """An operator closes a difference (what was done, in their words)."""
    result = yield execute(
        "UPDATE reconciliation_differences SET resolved = 1, resolution = ?, updated_at = ? "
        "WHERE difference_id = ? AND resolved = 0",
        resolution[:200],
        now,
        difference_id,
    )
    return result.rowcount == 1


def claim_day(day: date, channel: ChannelName, who: str, now: int, lease_ms: int) -> Tx[bool]:
    """Claim the scheduled run of ``day`` on ``channel``: the first claim wins; later ones win
    only once the day is not done and the last claim's lease (or retry wait) has run out."""
    inserted = yield execute(
        "INSERT INTO reconciliation_claims (day, channel, status, lease_until, claimed_by) "
        "VALUES (?, ?, 'RUNNING', ?, ?) ON CONFLICT DO NOTHING",
        day.isoformat(),
        channel.value,
        now + lease_ms,
        who,
    )
    if inserted.rowcount == 1:
        return True
    taken = yield execute(
        "UPDATE reconciliation_claims SET status = 'RUNNING', attempts = attempts + 1, "
        "lease_until = ?, claimed_by = ? "
        "WHERE day = ? AND channel = ? AND status <> 'DONE' AND lease_until <= ?",
        now + lease_ms,
        who,
        day.isoformat(),
        channel.value,
        now,
    )
    return taken.rowcount == 1


def finish_claim(day: date, channel: ChannelName, done: bool, retry_at: int) -> Tx[None]:
    """A scheduled run ended: done for the day, or to be tried again from ``retry_at``."""
    yield execute(
        "UPDATE reconciliation_claims SET status = ?, lease_until = ? "
        "WHERE day = ? AND channel = ?",
        "DONE" if done else "RETRY",
        retry_at,
        day.isoformat(),
        channel.value,
    )
