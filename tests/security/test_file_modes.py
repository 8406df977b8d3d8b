"""Files private from the first byte: every file the sandbox writes under its data directory is
created exclusively with mode 600 (never written first and chmod-ed after), the data directories
are 700, the SQLite files 600; a file from an older deployment is narrowed when opened."""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jubao.secure_files import (
    create_secret_file,
    private_dir,
    private_file,
    private_sqlite_files,
    update_secret_file,
    write_secret_file,
)
from jubao.storage.database import open_database
from tests.support.sandbox import running_sandbox

_EVENTS: list[tuple[str, tuple[Any, ...]]] = []
_WATCHING: list[bool] = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _WATCHING[0] and event in ("open", "os.chmod"):
        _EVENTS.append((event, args))


sys.addaudithook(_audit)  # hooks cannot be removed: this one records only while watching


@pytest.fixture
def watched() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    _EVENTS.clear()
    old_umask = os.umask(0o022)  # the usual umask, under which write_bytes makes 0644 files
    _WATCHING[0] = True
    try:
        yield _EVENTS
    finally:
        _WATCHING[0] = False
        os.umask(old_umask)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _inside(path: object, root: Path) -> bool:
    return isinstance(path, str | bytes | os.PathLike) and str(os.fsdecode(path)).startswith(
        str(root)
    )


def _chmodded_files(events: list[tuple[str, tuple[Any, ...]]], root: Path) -> list[object]:
    return [
        args[0]
        for event, args in events
        if event == "os.chmod" and _inside(args[0], root) and not Path(args[0]).is_dir()
    ]


async def test_the_sandbox_writes_every_file_private_from_the_first_byte(
    tmp_path: Path, watched: list[tuple[str, tuple[Any, ...]]]
) -> None:
    data = tmp_path / "new" / "data"
    async with running_sandbox(data) as sandbox:
        assert (await sandbox.mina("modes-1"))["result_code"] == 200
    writes = [
        args
        for event, args in watched
        if event == "open"
        and _inside(args[0], data)
        and (
            (isinstance(args[1], str) and any(flag in args[1] for flag in "wax+"))
            or (args[1] is None and args[2] & (os.O_WRONLY | os.O_RDWR))
        )
    ]
    assert writes, "the sandbox wrote no file?"
    for path, how, flags in writes:
        assert how is None and flags & os.O_CREAT and flags & os.O_EXCL, (path, how)
    assert _chmodded_files(watched, data) == []  # nothing is created first and hidden after

    for directory in (tmp_path / "new", data, data / "keys"):
        assert mode(directory) == 0o700, directory
    files = [path for path in data.rglob("*") if path.is_file()]
    assert {"jubao.sqlite3", "master_key", "admin_token", "sp_private_key.pem", "sandbox.json",
            "channel.env"} <= {path.name for path in files}  # fmt: skip
    for path in files:
        assert mode(path) == 0o600, path


def test_the_helpers(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask cannot widen them
    try:
        secret = tmp_path / "a" / "b" / "secret"
        write_secret_file(secret, "one")
        assert mode(secret) == 0o600 and secret.read_text() == "one"
        assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
        write_secret_file(secret, b"two")
        assert secret.read_bytes() == b"two"
        assert not create_secret_file(secret, "three")  # exists: left alone
        assert secret.read_text() == "two"
        assert create_secret_file(tmp_path / "fresh", "x") and mode(tmp_path / "fresh") == 0o600
        assert sorted(p.name for p in secret.parent.iterdir()) == ["secret"]  # no temp left

        old = tmp_path / "old.sqlite3"
        old.write_text("")
        old.chmod(0o644)
        (tmp_path / "old.sqlite3-wal").write_text("")
        private_sqlite_files(old)
        assert mode(old) == 0o600 and mode(tmp_path / "old.sqlite3-wal") == 0o600
        assert mode(private_file(tmp_path / "new.txt")) == 0o600

        shared = tmp_path / "operator"
        shared.mkdir(mode=0o755)
        private_dir(shared)
        assert mode(shared) == 0o755  # the operator's directory is theirs
        private_dir(shared, narrow=True)
        assert mode(shared) == 0o700
    finally:
        os.umask(old_umask)


def _add_lines(path: str, who: int, count: int) -> None:
    for n in range(count):

        def change(text: str, line: str = f"K{who}_{n}=v\n") -> str:
            return text + line

        update_secret_file(Path(path), change)


def test_updates_from_processes_at_once_lose_nothing(tmp_path: Path) -> None:
    """Four processes each add 25 lines, every one a read, a change and a replace of the file
    (as each simulator updates channel.env): without the lock, updates overwrite each other."""
    path = tmp_path / "channel.env"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_lines, args=(str(path), who, 25)) for who in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    lines = path.read_text("utf-8").splitlines()
    assert sorted(lines) == sorted(f"K{who}_{n}=v" for who in range(4) for n in range(25))
    assert mode(path) == 0o600 and mode(tmp_path / "channel.env.lock") == 0o600


async def test_sqlite_wal_files_copy_the_private_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        db = await open_database(f"sqlite:///{tmp_path}/d/jubao.sqlite3")
        await db.close()
    finally:
        os.umask(old_umask)
    made = sorted((tmp_path / "d").iterdir())
    assert made and all(mode(path) == 0o600 for path in made), [(p, oct(mode(p))) for p in made]
    assert mode(tmp_path / "d") == 0o700
