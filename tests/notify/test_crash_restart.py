"""A worker process killed mid-delivery loses nothing: after a restart the notification arrives."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from jubao.storage.database import open_database
from tests.notify.support import Answer, attempts, notification, open_shop, running_receiver

ROOT = Path(__file__).resolve().parents[2]


async def _spawn(url: str, notification_id: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.notify.crash_worker",
        url,
        str(notification_id),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
async def test_a_worker_killed_mid_delivery_is_restarted_and_delivers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    async with running_receiver() as receiver:
        receiver.answer(Answer(hold=True), Answer(body="success"))
        db = await open_database(url)
        try:
            shop = await open_shop(db)
            notification_id = await shop.paid_order(receiver.callback_url)
        finally:
            await db.close()  # one writing process at a time on a SQLite file

        doomed = await _spawn(url, notification_id)
        await asyncio.wait_for(receiver.first_hit.wait(), timeout=15)
        doomed.send_signal(signal.SIGKILL)  # mid-delivery: the receiver has not answered
        assert await doomed.wait() == -signal.SIGKILL
        receiver.gate.set()

        restarted = await _spawn(url, notification_id)
        assert await asyncio.wait_for(restarted.wait(), timeout=30) == 0

    db = await open_database(url)
    try:
        row = await db.read(lambda: notification(notification_id))
        history = await db.read(lambda: attempts(notification_id))
    finally:
        await db.close()
    assert row["status"] == "DELIVERED" and row["attempts"] == 1
    assert [a["http_status"] for a in history] == [200]  # the killed attempt left no outcome
    assert len(receiver.hits) == 2  # at-least-once: the merchant saw it twice
