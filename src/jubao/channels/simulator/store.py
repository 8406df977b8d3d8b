"""Persistence: the in-memory state is the truth while running; every change is written behind to
one SQLite file by a single thread, so the event loop never waits on the disk.

A record is a JSON document under (kind, key). ``flush`` waits until everything queued is
committed (``stop`` calls it), so a clean restart loses nothing; a crash can lose the last few
milliseconds of changes, which a simulator can afford."""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

from jubao.secure_files import private_sqlite_files

__all__ = ["Store"]

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
"""


class Store:
    """``path=None`` keeps nothing (in-memory simulator)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, dict[str, Any]]]:
        loaded: dict[str, dict[str, dict[str, Any]]] = {}
        if self._path is None or not self._path.exists():
            return loaded
        connection = sqlite3.connect(self._path)
        try:
            connection.execute(SCHEMA)
            for kind, key, body in connection.execute("SELECT kind, key, body FROM records"):
                loaded.setdefault(kind, {})[key] = json.loads(body)
        finally:
            connection.close()
        return loaded

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        if self._path is None:
            return
        # Serialise now: the record may change again before the writer gets to it.
        self._queue.put((kind, key, json.dumps(record, ensure_ascii=False)))
        self._ensure_writer()

    def flush(self) -> None:
        """Blocks until every queued write is committed; call through ``asyncio.to_thread``."""
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _ensure_writer(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write_loop, name="wechatpay-simulator-store", daemon=True
                )
                self._thread.start()

    def _write_loop(self) -> None:
        assert self._path is not None
        private_sqlite_files(self._path)
        connection = sqlite3.connect(self._path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(SCHEMA)
        connection.commit()
        try:
            while True:
                batch = [self._queue.get()]
                # Commit everything already waiting in one transaction.
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                rows = [item for item in batch if item is not None]
                try:
                    connection.executemany(
                        "INSERT OR REPLACE INTO records (kind, key, body) VALUES (?, ?, ?)", rows
                    )
                    connection.commit()
                except sqlite3.Error:
                    # Keep the writer alive (flush() must not hang); the state stays in memory.
                    log.exception("simulator store: could not write %d records", len(rows))
                for _ in batch:
                    self._queue.task_done()
                if len(rows) != len(batch):
                    return
        finally:
            connection.close()
