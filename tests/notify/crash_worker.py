"""A dispatcher process for the crash test: ``python -m tests.notify.crash_worker DB_URL ID``.

Runs passes until notification ID leaves PENDING, then exits 0. The test kills one of these
mid-delivery and starts another, as an operator's supervisor would restart ``jubao worker``.
"""

from __future__ import annotations

import asyncio
import sys

from jubao.notify.dispatcher import Dispatcher
from jubao.storage.database import open_database
from tests.notify.support import fast_settings, settle

LEASE_SECONDS = 0.5


async def main(url: str, notification_id: int) -> None:
    db = await open_database(url)
    dispatcher = Dispatcher(db, fast_settings(notify_lease_seconds=LEASE_SECONDS))
    try:
        await settle(dispatcher.run_once, db, notification_id, within=20)
    finally:
        await dispatcher.stop()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
