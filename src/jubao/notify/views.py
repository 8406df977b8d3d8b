"""How a notification and its attempts look to operators (admin API and CLI)."""

from __future__ import annotations

from typing import Any

from jubao.notify.repository import AttemptRecord, NotificationRecord
from jubao.protocol import jsonwire

__all__ = ["attempt_view", "notification_view"]


def attempt_view(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "http_status": attempt.http_status,
        "response_head": attempt.response_head,
        "error": attempt.error,
    }


def notification_view(row: NotificationRecord) -> dict[str, Any]:
    """Timestamps are epoch milliseconds; ``data`` is the notified JSON (amounts stay exact)."""
    return {
        "notification_id": row.notification_id,
        "order_sn": row.order_sn,
        "merchant_order_sn": row.merchant_order_sn,
        "app_id": row.app_id,
        "vendor_sn": row.vendor_sn,  # a vendor's order: signed with the vendor's secret
        "kind": row.kind,
        "url": row.url,
        "status": row.status.value,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "delivered_at": row.delivered_at,
        "lease_owner": row.lease_owner,
        "lease_until": row.lease_until,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "data": jsonwire.loads(row.payload),
        "attempts_log": [attempt_view(attempt) for attempt in row.attempts_log],
    }
