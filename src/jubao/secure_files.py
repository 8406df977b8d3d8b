"""Files private from their first byte: secrets are written to a temporary file created with mode
600 (never a moment readable by others, whatever the umask) and then renamed or linked into
place; directories jubao creates are 700; SQLite files are created 600 (SQLite gives its -wal
and -shm files the database file's mode).

A file that already exists with group or other access is narrowed to 600 when jubao opens it
(a deployment from before this change); directories the operator made are left as they are.
A top-level module importing nothing of jubao: storage, the channels' simulators, the sandbox and
security all write files through it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "create_secret_file",
    "private_dir",
    "private_file",
    "private_sqlite_files",
    "update_secret_file",
    "write_secret_file",
]

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path, *, narrow: bool = False) -> Path:
    """Create ``path`` and any missing parents with mode 700; ``narrow``: also make an existing
    ``path`` 700 (for directories that are jubao's alone, like ``keys/``)."""
    missing = [parent for parent in (path, *path.parents) if not parent.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=PRIVATE_DIR)
            os.chmod(directory, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    if narrow:
        os.chmod(path, PRIVATE_DIR)
    return path


def _temporary(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_secret_file(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (mode 600), replacing it atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    private_dir(path.parent)
    os.replace(_temporary(path, raw), path)


def update_secret_file(path: Path, change: Callable[[str], str]) -> None:
    """Replace the text of ``path`` (mode 600; "" while it does not exist) by ``change(text)``,
    one process at a time: two processes updating it together (two simulators starting at once,
    each with its lines of ``channel.env``) would each write over the other's change. The lock is
    an ``flock`` on ``path.lock``, released when its descriptor is closed."""
    # created like every file here (600, exclusively), then opened only to hold the lock
    lock = os.open(private_file(path.with_name(path.name + ".lock")), os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = path.read_text("utf-8") if path.exists() else ""
        write_secret_file(path, change(text))
    finally:
        os.close(lock)


def create_secret_file(path: Path, data: bytes | str) -> bool:
    """Create ``path`` (mode 600) holding ``data`` unless it exists; True when this call made it.
    Atomic between processes: two sandboxes starting together keep one key, never half a file."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    private_dir(path.parent)
    tmp = _temporary(path, raw)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 600 unless it exists; narrow an existing one to 600."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, PRIVATE_FILE)
    return path


def private_sqlite_files(path: Path) -> None:
    """Before SQLite opens ``path``: the file (and its directory) private; the -wal and -shm
    files it makes then copy the file's mode, and existing ones are narrowed here."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(companion.stat().st_mode) & 0o077:
                os.chmod(companion, PRIVATE_FILE)
