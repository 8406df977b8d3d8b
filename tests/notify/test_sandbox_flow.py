"""The issue's "done when", in the sandbox: a paid order's notification reaches a local receiver
with a signature the reference recipe verifies; a receiver failing twice gets it on the third
attempt with three attempts recorded; a resend sends it again."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jubao.notify import repository as repo
from jubao.notify.dispatcher import Dispatcher
from tests.notify.support import (
    Answer,
    Receiver,
    attempts,
    notification,
    now_ms,
    running_receiver,
    wait_until,
)

try:  # the WeChat simulator is built in parallel; until it lands this module skips
    from tests.support.sandbox import RunningSandbox, running_sandbox
except ImportError as exc:
    pytest.skip(f"sandbox not importable yet: {exc}", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[RunningSandbox, Receiver]]:
    async with (
        running_receiver() as receiver,
        running_sandbox(
            tmp_path / "data",
            notify_schedule=(0.05, 0.05, 0.05),
            notify_timeout_seconds=1.0,
            maintenance_interval_seconds=0.05,
        ) as running,
    ):
        yield running, receiver


async def test_paid_order_reaches_the_merchant_fail_fail_success_then_resend(
    sandbox: tuple[RunningSandbox, Receiver],
) -> None:
    running, receiver = sandbox
    receiver.answer(Answer(body="fail"), Answer(500, "fail"), Answer(body="success"))
    created = await running.mina("m-notify-1", "0.01", call_back_url=receiver.callback_url)
    assert created["result_code"] == 200, created
    paid = await running.pay(created["data"]["sign_params"])
    assert paid.status_code == 200, paid.text

    db = running.runtime.db
    settings = dataclasses.replace(running.settings, notify_allow_private=True)
    # the sandbox's own dispatcher, once wired into build_runtime, would do the same; this one is
    # started here so the test does not depend on that wiring
    dispatcher = Dispatcher(db, settings, poll_interval=0.02)
    await dispatcher.start()
    try:

        async def delivered() -> bool:
            rows = await db.read(
                lambda: repo.list_notifications(order_sn=created["data"]["order_sn"])
            )
            return bool(rows) and rows[0].status == "DELIVERED"

        await wait_until(delivered, within=10)
        [row] = await db.read(lambda: repo.list_notifications(order_sn=created["data"]["order_sn"]))
        notification_id = row.notification_id
        assert row.attempts == 3 and len(row.attempts_log) == 3

        secret = running.info["app_secret"]
        final = receiver.hits[-1].form
        base = f"data={final['data']}&result_code=200&result_message=成功{secret}"
        assert final["sign"] == hashlib.md5(base.encode()).hexdigest().upper()
        assert receiver.hits[-1].data["merchant_order_sn"] == "m-notify-1"

        await db.write(lambda: repo.resend(notification_id, now_ms()))
        dispatcher.poke()

        async def sent_again() -> bool:
            again = await db.read(lambda: notification(notification_id))
            return bool(again["status"] == "DELIVERED" and again["attempts"] == 1)

        await wait_until(sent_again, within=10)
        assert len(receiver.hits) == 4
        assert len(await db.read(lambda: attempts(notification_id))) == 4
    finally:
        await dispatcher.stop()
