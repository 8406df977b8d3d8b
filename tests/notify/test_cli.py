"""``jubao notify list|show|resend`` against a real database (the group is run directly; the lead
registers it under ``jubao``)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jubao.cli import main
from jubao.config import Settings
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


def jubao(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    """``jubao ARGS --data-dir D --database-url URL``: global options after the command."""
    options = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    return CliRunner(env=env).invoke(main, [*args, *options])


@pytest.fixture
def cli_settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings(), data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/db.sqlite3"
    )


def test_list_show_resend(cli_settings: Settings) -> None:
    notification_id = _prepare(cli_settings.resolved_database_url)

    listed = jubao(cli_settings, "notify", "list")
    assert listed.exit_code == 0, listed.output
    assert f"{notification_id}\tFAILED\tattempts=2\tPAYMENT" in listed.output
    assert jubao(cli_settings, "notify", "list", "--status", "PENDING").output == ""

    shown = jubao(cli_settings, "notify", "show", str(notification_id))
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("http=500  error=HTTP 500  answer='boom'") == 2
    as_json = jubao(cli_settings, "notify", "show", "--json", str(notification_id))
    assert '"status": "FAILED"' in as_json.output

    resent = jubao(cli_settings, "notify", "resend", str(notification_id))
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
    for command in ("show", "resend"):
        result = jubao(cli_settings, "notify", command, "424242")
        assert result.exit_code == 1 and "no notification 424242" in result.output


def test_the_worker_refuses_to_start_without_channel_settings(cli_settings: Settings) -> None:
    result = jubao(cli_settings, "worker", env={"JUBAO_ALLOW_PLAINTEXT_SECRETS": "true"})
    assert result.exit_code != 0
    assert "missing WeChat Pay settings" in str(result.exception) + result.output
