"""Resending one notification, as the admin API, the console and ``jubao notify resend`` do."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from jubao.notify import repository as repo
from jubao.notify.repository import NotificationRecord
from jubao.storage.database import Database

__all__ = ["resend_notification"]


async def resend_notification(
    db: Database, notification_id: int, now: int, poke: Callable[[], None] | None = None
) -> NotificationRecord | None:
    """A fresh delivery schedule, due now (``repository.resend``); ``None``: no such notification.
    ``poke`` wakes a dispatcher in this process once the change is committed; without one, any
    running dispatcher picks it up within a poll."""
    row = await db.write(partial(repo.resend, notification_id, now))
    if row is not None and poke is not None:
        poke()
    return row
