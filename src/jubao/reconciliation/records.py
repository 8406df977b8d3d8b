"""Reconciliation runs and differences as the repository returns them: frozen and typed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from jubao.kinds import ChannelName
from jubao.reconciliation.classify import DifferenceKind
from jubao.storage.sql import Row

__all__ = ["COUNTED", "DifferenceRecord", "RunRecord", "RunStatus"]

# the classes a run counts, in the order reports show them (the run table's column names)
COUNTED: tuple[DifferenceKind, ...] = (
    DifferenceKind.MATCHED,
    DifferenceKind.CHANNEL_ONLY,
    DifferenceKind.JUBAO_ONLY,
    DifferenceKind.AMOUNT_DIFFERS,
    DifferenceKind.REFUND_CHANNEL_ONLY,
    DifferenceKind.REFUND_JUBAO_ONLY,
    DifferenceKind.NOT_JUBAO,
)


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"  # the statement could not be had (not ready, channel unavailable)


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: int
    day: date
    channel: ChannelName
    status: RunStatus
    started_by: str
    started_at: int
    finished_at: int | None
    statement_lines: int
    counts: dict[DifferenceKind, int]
    repaired: int
    error: str

    @classmethod
    def from_row(cls, row: Row) -> RunRecord:
        return cls(
            run_id=int(row["run_id"]),
            day=date.fromisoformat(row["day"]),
            channel=ChannelName(row["channel"]),
            status=RunStatus(row["status"]),
            started_by=row["started_by"],
            started_at=int(row["started_at"]),
            finished_at=None if row["finished_at"] is None else int(row["finished_at"]),
            statement_lines=int(row["statement_lines"]),
            counts={kind: int(row[kind.value.lower()]) for kind in COUNTED},
            repaired=int(row["repaired"]),
            error=row["error"],
        )

    @property
    def differing(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind != DifferenceKind.MATCHED)

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "date": self.day.isoformat(),
            "channel": self.channel.value,
            "status": self.status.value,
            "started_by": self.started_by,
            "statement_lines": self.statement_lines,
            "counts": {kind.value: n for kind, n in self.counts.items()},
            "repaired": self.repaired,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class DifferenceRecord:
    difference_id: int
    day: date
    channel: ChannelName
    kind: DifferenceKind
    order_sn: str
    refund_sn: str
    channel_fen: int | None
    jubao_fen: int | None
    transaction_id: str
    detail: str
    resolved: bool
    resolution: str
    first_run_id: int
    last_run_id: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Row) -> DifferenceRecord:
        return cls(
            difference_id=int(row["difference_id"]),
            day=date.fromisoformat(row["day"]),
            channel=ChannelName(row["channel"]),
            kind=DifferenceKind(row["kind"]),
            order_sn=row["order_sn"],
            refund_sn=row["refund_sn"],
            channel_fen=None if row["channel_fen"] is None else int(row["channel_fen"]),
            jubao_fen=None if row["jubao_fen"] is None else int(row["jubao_fen"]),
            transaction_id=row["transaction_id"],
            detail=row["detail"],
            resolved=bool(row["resolved"]),
            resolution=row["resolution"],
            first_run_id=int(row["first_run_id"]),
            last_run_id=int(row["last_run_id"]),
            updated_at=int(row["updated_at"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "channel": self.channel.value,
            "kind": self.kind.value,
            "order_sn": self.order_sn,
            "refund_sn": self.refund_sn,
            "channel_fen": self.channel_fen,
            "jubao_fen": self.jubao_fen,
            "transaction_id": self.transaction_id,
            "detail": self.detail,
            "resolved": self.resolved,
            "resolution": self.resolution,
        }
