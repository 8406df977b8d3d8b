"""``attach_dispatcher`` hooks one dispatcher to a runtime, however often it is asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jubao.merchants.directory import MerchantDirectory
from jubao.runtime import Runtime, attach_dispatcher
from jubao.storage.database import open_database
from tests.notify.support import fast_settings


async def test_attach_is_idempotent_and_hooks_start_and_stop(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    try:
        no_service: Any = None  # the dispatcher needs only the settings and the database
        runtime = Runtime(
            fast_settings(), db, MerchantDirectory(db), no_service, no_service, no_service
        )
        assert runtime.dispatcher is None
        dispatcher = attach_dispatcher(runtime)
        assert attach_dispatcher(runtime) is dispatcher
        assert runtime.on_start == [dispatcher.start] and runtime.on_stop == [dispatcher.stop]
        for hook in runtime.on_start:
            await hook()
        for hook in runtime.on_stop:
            await hook()
    finally:
        await db.close()
