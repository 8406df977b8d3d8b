"""The worker's heartbeat, and the facts operators ask about notifications (backlog, failures,
the oldest due, the last heartbeat): read by ``/readyz``, ``/metrics`` and the console."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from jubao.background import Periodic
from jubao.clock import Clock, system_clock
from jubao.storage.database import Database
from jubao.storage.sql import Tx, execute, fetch_one

__all__ = [
    "HEARTBEAT_SECONDS",
    "NotificationHealth",
    "heartbeat_task",
    "notification_health",
    "worker_missing",
]

HEARTBEAT_SECONDS = 10.0
# A dispatcher is missing once its last beat is older than this (several beats lost).
MISSING_AFTER_SECONDS = 60.0
_FORGET_AFTER_MS = 24 * 3600 * 1000


def _beat(process: str, role: str, now: int) -> Tx[None]:
    yield execute(
        "INSERT INTO heartbeats (process, role, beat_at) VALUES (?, ?, ?) "
        "ON CONFLICT (process) DO UPDATE SET role = excluded.role, beat_at = excluded.beat_at",
        process,
        role,
        now,
    )
    yield execute("DELETE FROM heartbeats WHERE beat_at < ?", now - _FORGET_AFTER_MS)


def heartbeat_task(db: Database, role: str = "dispatcher", clock: Clock = system_clock) -> Periodic:
    """A background task recording every ``HEARTBEAT_SECONDS`` that this process is alive."""
    process = f"{socket.gethostname()}:{os.getpid()}"

    async def beat() -> None:
        await db.write(lambda: _beat(process, role, clock()))

    return Periodic("heartbeat", HEARTBEAT_SECONDS, beat)


@dataclass(frozen=True, slots=True)
class NotificationHealth:
    pending: int
    failed: int
    due: int  # pending and due now: someone should be sending them
    oldest_pending_seconds: float  # 0 without pending notifications
    heartbeat_age_seconds: float | None  # None: no dispatcher ever beat
    open_differences: int = 0  # reconciliation differences nobody resolved yet


def _health(now: int) -> Tx[NotificationHealth]:
    counts = yield fetch_one(
        "SELECT "
        "SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END) AS pending, "
        "SUM(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) AS failed, "
        "SUM(CASE WHEN status = 'PENDING' AND next_attempt_at <= ? THEN 1 ELSE 0 END) AS due, "
        "MIN(CASE WHEN status = 'PENDING' THEN created_at END) AS oldest "
        "FROM notifications",
        now,
    )
    beat = yield fetch_one("SELECT MAX(beat_at) AS beat_at FROM heartbeats")
    differences = yield fetch_one(
        "SELECT COUNT(*) AS n FROM reconciliation_differences WHERE resolved = 0"
    )
    row = counts.first or {}
    oldest = row.get("oldest")
    last = (beat.first or {}).get("beat_at")
    return NotificationHealth(
        pending=int(row.get("pending") or 0),
        failed=int(row.get("failed") or 0),
        due=int(row.get("due") or 0),
        oldest_pending_seconds=max(now - int(oldest), 0) / 1000 if oldest is not None else 0.0,
        heartbeat_age_seconds=max(now - int(last), 0) / 1000 if last is not None else None,
        open_differences=int((differences.first or {}).get("n") or 0),
    )


async def notification_health(db: Database, clock: Clock = system_clock) -> NotificationHealth:
    now = clock()
    return await db.read(lambda: _health(now))


def worker_missing(health: NotificationHealth) -> bool:
    """Notifications are due and no dispatcher has beaten lately."""
    if health.due == 0:
        return False
    age = health.heartbeat_age_seconds
    return age is None or age > MISSING_AFTER_SECONDS
