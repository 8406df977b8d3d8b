"""Units of work for the notification outbox: claim, record, inspect, resend.

A dispatcher *claims* due rows by writing a lease (``lease_owner`` = a token unique to that claim,
``lease_until``); while the lease runs no other dispatcher picks the row, so one notification is
never delivered twice at the same moment. The outcome is written with a compare-and-set on that
token: a worker that stalled past its lease, after another claimed the row, cannot overwrite the
newer outcome. A worker that dies loses nothing: its lease expires and the row is claimed again
(at-least-once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jubao.merchants.repository import secret_aad, vendor_aad
from jubao.payments.repository import add_event
from jubao.storage.sql import Row, Tx, execute, fetch_all, fetch_one

__all__ = [
    "AttemptRecord",
    "NotificationRecord",
    "NotificationStatus",
    "app_secret",
    "attempts_of",
    "claim_due",
    "find_notification",
    "list_notifications",
    "record_attempt",
    "resend",
    "signing_secret",
]


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one delivery attempt did."""

    started_at: int
    duration_ms: int
    http_status: int | None
    response_head: str | None
    error: str | None

    @classmethod
    def from_row(cls, row: Row) -> AttemptRecord:
        return cls(
            int(row["started_at"]),
            int(row["duration_ms"]),
            _optional_int(row["http_status"]),
            row["response_head"],
            row["error"],
        )


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """An outbox row; listings add its order's numbers and its attempts (oldest first)."""

    notification_id: int
    order_id: int
    app_id: str
    kind: str  # PAYMENT or REFUND
    url: str
    payload: str  # the notified JSON, as signed and sent
    status: NotificationStatus
    attempts: int
    next_attempt_at: int
    lease_until: int | None
    lease_owner: str | None
    delivered_at: int | None
    created_at: int
    updated_at: int
    order_sn: str | None = None
    merchant_order_sn: str | None = None
    attempts_log: tuple[AttemptRecord, ...] = ()
    vendor_sn: str | None = None  # a vendor's order: its secret signs (else the app's)

    @classmethod
    def from_row(cls, row: Row, attempts_log: tuple[AttemptRecord, ...] = ()) -> NotificationRecord:
        return cls(
            notification_id=int(row["notification_id"]),
            order_id=int(row["order_id"]),
            app_id=row["app_id"],
            kind=row["kind"],
            url=row["url"],
            payload=row["payload"],
            status=NotificationStatus(row["status"]),
            attempts=int(row["attempts"]),
            next_attempt_at=int(row["next_attempt_at"]),
            lease_until=_optional_int(row["lease_until"]),
            lease_owner=row["lease_owner"],
            delivered_at=_optional_int(row["delivered_at"]),
            created_at=int(row["created_at"]),
            updated_at=int(row["updated_at"]),
            order_sn=row.get("order_sn"),
            merchant_order_sn=row.get("merchant_order_sn"),
            attempts_log=attempts_log,
            vendor_sn=row.get("vendor_sn"),
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


_DUE = "status = 'PENDING' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"


def claim_due(
    dialect: str, token: str, now: int, lease_until: int, limit: int
) -> Tx[list[NotificationRecord]]:
    """Lease up to ``limit`` due rows to ``token``; return them (oldest due first)."""
    if dialect == "postgresql":
        # SKIP LOCKED lets concurrent claimers take disjoint rows instead of queueing. The
        # materialised CTE runs the LIMIT once: as an ``IN (subquery)`` the planner may rescan the
        # subquery, and each rescan skips to further rows, claiming more than ``limit``.
        query = fetch_all(
            "WITH due AS MATERIALIZED (SELECT notification_id FROM notifications "
            f"WHERE {_DUE} ORDER BY next_attempt_at, notification_id LIMIT ? "
            "FOR UPDATE SKIP LOCKED) "
            "UPDATE notifications n SET lease_owner = ?, lease_until = ?, updated_at = ? "
            "FROM due WHERE n.notification_id = due.notification_id RETURNING n.*",
            now,
            now,
            limit,
            token,
            lease_until,
            now,
        )
    else:  # SQLite has a single writer: the plain subquery is already exclusive
        query = fetch_all(
            "UPDATE notifications SET lease_owner = ?, lease_until = ?, updated_at = ? "
            "WHERE notification_id IN (SELECT notification_id FROM notifications "
            f"WHERE {_DUE} ORDER BY next_attempt_at, notification_id LIMIT ?) RETURNING *",
            token,
            lease_until,
            now,
            now,
            now,
            limit,
        )
    rows = (yield query).rows
    claimed = [NotificationRecord.from_row(row) for row in rows]
    return sorted(claimed, key=lambda row: (row.next_attempt_at, row.notification_id))


def app_secret(app_id: str) -> Tx[str | None]:
    """The app's current secret as stored (sealed, or legacy plaintext: open it with the
    ``Sealer``): a rotated secret signs every attempt made after the rotation."""
    row = (yield fetch_one("SELECT app_secret FROM apps WHERE app_id = ?", app_id)).first
    return str(row["app_secret"]) if row else None


def signing_secret(row: NotificationRecord) -> Tx[tuple[str, bytes] | None]:
    """The stored secret that signs ``row`` (the vendor's for a vendor's order, else the app's)
    with the associated data that opens it; ``None`` when that signer no longer exists."""
    if row.vendor_sn is not None:
        found = (
            yield fetch_one("SELECT vendor_secret FROM vendors WHERE vendor_sn = ?", row.vendor_sn)
        ).first
        return (str(found["vendor_secret"]), vendor_aad(row.vendor_sn)) if found else None
    stored = yield from app_secret(row.app_id)
    return (stored, secret_aad(row.app_id)) if stored is not None else None


def signer_of(row: NotificationRecord) -> tuple[str, str]:
    """Whose secret signs ``row``: ``("vendor", vendor_sn)`` or ``("app", app_id)``."""
    return ("vendor", row.vendor_sn) if row.vendor_sn is not None else ("app", row.app_id)


def signing_secrets(
    rows: Iterable[NotificationRecord],
) -> Tx[dict[tuple[str, str], tuple[str, bytes] | None]]:
    """``signing_secret`` of each signer of ``rows`` (see ``signer_of``), each read once."""
    found: dict[tuple[str, str], tuple[str, bytes] | None] = {}
    for row in rows:
        signer = signer_of(row)
        if signer not in found:
            found[signer] = yield from signing_secret(row)
    return found


def record_attempt(
    notification_id: int,
    token: str,
    claimed_attempts: int,
    attempt: AttemptRecord,
    status: NotificationStatus,
    next_attempt_at: int | None,
    now: int,
) -> Tx[bool]:
    """Store the attempt and the row's new state, if the claim is still current.

    Current means: ``token`` still holds the lease and ``attempts`` is still what the claim saw
    (a resend meanwhile restarts the count, and the outcome computed from the old count must not
    apply). ``False``: nothing written; the lease, if still ours, is released so the row is due
    again at once. ``next_attempt_at`` is only used while PENDING.
    """
    result = yield execute(
        "UPDATE notifications SET attempts = attempts + 1, status = ?, "
        "next_attempt_at = COALESCE(?, next_attempt_at), delivered_at = ?, "
        "lease_owner = NULL, lease_until = NULL, updated_at = ? "
        "WHERE notification_id = ? AND lease_owner = ? AND attempts = ? AND status = 'PENDING'",
        status.value,
        next_attempt_at,
        now if status == NotificationStatus.DELIVERED else None,
        now,
        notification_id,
        token,
        claimed_attempts,
    )
    if result.rowcount != 1:
        yield execute(
            "UPDATE notifications SET lease_owner = NULL, lease_until = NULL, updated_at = ? "
            "WHERE notification_id = ? AND lease_owner = ?",
            now,
            notification_id,
            token,
        )
        return False
    yield execute(
        "INSERT INTO notification_attempts (notification_id, started_at, duration_ms, "
        "http_status, response_head, error) VALUES (?, ?, ?, ?, ?, ?)",
        notification_id,
        attempt.started_at,
        attempt.duration_ms,
        attempt.http_status,
        attempt.response_head,
        attempt.error,
    )
    return True


_SELECT = (
    "SELECT n.*, o.order_sn, o.merchant_order_sn "
    "FROM notifications n JOIN orders o ON o.order_id = n.order_id"
)


def list_notifications(
    status: str | None = None, order_sn: str | None = None, limit: int = 50, offset: int = 0
) -> Tx[list[NotificationRecord]]:
    """Newest first, each with its ``attempts_log`` (oldest attempt first)."""
    conditions: list[str] = []
    args: list[object] = []
    if status:
        conditions.append("n.status = ?")
        args.append(status)
    if order_sn:
        conditions.append("o.order_sn = ?")
        args.append(order_sn)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = (
        yield fetch_all(
            f"{_SELECT}{where} ORDER BY n.notification_id DESC LIMIT ? OFFSET ?",
            *args,
            limit,
            offset,
        )
    ).rows
    found = []
    for row in rows:
        attempts = yield from attempts_of(row["notification_id"])
        found.append(NotificationRecord.from_row(row, tuple(attempts)))
    return found


def find_notification(notification_id: int) -> Tx[NotificationRecord | None]:
    row = (yield fetch_one(f"{_SELECT} WHERE n.notification_id = ?", notification_id)).first
    if row is None:
        return None
    attempts = yield from attempts_of(notification_id)
    return NotificationRecord.from_row(row, tuple(attempts))


def attempts_of(notification_id: int) -> Tx[list[AttemptRecord]]:
    rows = (
        yield fetch_all(
            "SELECT * FROM notification_attempts WHERE notification_id = ? ORDER BY attempt_id",
            notification_id,
        )
    ).rows
    return [AttemptRecord.from_row(row) for row in rows]


def resend(notification_id: int, now: int) -> Tx[NotificationRecord | None]:
    """Start a fresh schedule: PENDING, no attempts counted, due now. ``None``: no such row.

    A lease in force is kept, so a delivery in flight is never joined by a second one; when that
    delivery ends, ``record_attempt`` sees the reset count, drops its outcome and releases the
    lease, and the fresh schedule starts (if it was a first attempt anyway, it simply counts as
    the new schedule's first). The attempt history is kept.
    """
    result = yield execute(
        "UPDATE notifications SET status = 'PENDING', attempts = 0, next_attempt_at = ?, "
        "delivered_at = NULL, updated_at = ? WHERE notification_id = ?",
        now,
        now,
        notification_id,
    )
    if result.rowcount != 1:
        return None
    row = yield from find_notification(notification_id)
    assert row is not None
    yield from add_event(row.order_id, now, "NOTIFY_RESEND", f"notification {notification_id}")
    return row
