"""``jubao notify list|show|resend`` against a real database (the group is run directly; the lead
registers it under ``jubao``)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from jubao.config import Settings
from jubao.notify.cli import notify, worker
from jubao.notify.dispatcher import Dispatcher
from jubao.storage.database import open_database
from tests.notify.support import Answer, fast_settings, notification, open_shop, running_receiver
from tests.notify.support import settle as settle_notification


def _prepare(url: str) -> int:
    """A notification that failed its only two attempts."""

    async def run() -> int:
        db = await open_database(url)
        try:
            async with running_receiver() as receiver:
                receiver.answer(Answer(500, "boom"))
                shop = await open_shop(db, receiver.callback_url)
                notification_id = await shop.paid_order(receiver.callback_url)
                dispatcher = Dispatcher(db, fast_settings(notify_schedule=(0.01,)))
                try:
                    await settle_notification(dispatcher.run_once, db, notification_id)
                finally:
                    await dispatcher.stop()
            return notification_id
        finally:
            await db.close()

    return asyncio.run(run())


@pytest.fixture
def cli_settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings(), database_url=f"sqlite:///{tmp_path}/db.sqlite3")


def test_list_show_resend(cli_settings: Settings) -> None:
    notification_id = _prepare(cli_settings.resolved_database_url)
    runner = CliRunner()

    listed = runner.invoke(notify, ["list"], obj=cli_settings)
    assert listed.exit_code == 0, listed.output
    assert f"{notification_id}\tFAILED\tattempts=2\tPAYMENT" in listed.output
    assert runner.invoke(notify, ["list", "--status", "PENDING"], obj=cli_settings).output == ""

    shown = runner.invoke(notify, ["show", str(notification_id)], obj=cli_settings)
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("http=500  error=HTTP 500  answer='boom'") == 2
    as_json = runner.invoke(notify, ["show", "--json", str(notification_id)], obj=cli_settings)
    assert '"status": "FAILED"' in as_json.output

    resent = runner.invoke(notify, ["resend", str(notification_id)], obj=cli_settings)
    assert resent.exit_code == 0, resent.output
    assert "queued for delivery" in resent.output

    async def reread() -> tuple[str, int]:
        db = await open_database(cli_settings.resolved_database_url)
        try:
            row = await db.read(lambda: notification(notification_id))
        finally:
            await db.close()
        return row["status"], row["attempts"]

    assert asyncio.run(reread()) == ("PENDING", 0)


def test_unknown_ids_fail_clearly(cli_settings: Settings) -> None:
    runner = CliRunner()
    for command in ("show", "resend"):
        result = runner.invoke(notify, [command, "424242"], obj=cli_settings)
        assert result.exit_code == 1 and "no notification 424242" in result.output


def test_the_worker_refuses_to_start_without_channel_settings(cli_settings: Settings) -> None:
    result = CliRunner().invoke(worker, [], obj=cli_settings)
    assert result.exit_code != 0
    assert "missing WeChat Pay settings" in str(result.exception) + result.output
