"""Servers under test, each in its own process: start, wait until it answers, stop, and report
its peak resident memory (``VmHWM``) and CPU time."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ProcessStats",
    "Server",
    "free_port",
    "peak_rss_mb",
    "run_server",
    "tree_cpu_seconds",
    "tree_pids",
]

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a live process (Linux ``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its live descendants (``serve --workers N`` runs each worker in a child)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(_children(current))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its live descendants; one gone in between is not counted."""
    total = 0.0
    for member in tree_pids(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


@dataclass
class ProcessStats:
    name: str
    peak_rss_mb: float = float("nan")
    cpu_seconds: float = float("nan")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    stats: ProcessStats

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_idle(self, *, busy_below: float = 0.1, timeout: float = 60.0) -> float:
        """Wait until the server uses under ``busy_below`` of a core over 0.25 s (requests a load
        run left in flight are finished), so one run's backlog never counts in the next.
        Returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = tree_cpu_seconds(self.process.pid)
            time.sleep(0.25)
            if (tree_cpu_seconds(self.process.pid) - before) / 0.25 < busy_below:
                break
        return time.monotonic() - started

    def sample(self) -> None:
        """Record peak RSS and CPU so far (call before stopping)."""
        with contextlib.suppress(OSError, ValueError):
            # the largest process of the tree (with --workers N, a worker; not their sum)
            self.stats.peak_rss_mb = max(peak_rss_mb(pid) for pid in tree_pids(self.process.pid))
            self.stats.cpu_seconds = tree_cpu_seconds(self.process.pid)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early ({process.returncode}); see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port} within {timeout:.0f}s; see {log}")


def _raise_fd_limit() -> None:
    # 512 clients + the channel's pooled connections back to the in-process simulator
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@contextlib.contextmanager
def run_server(
    name: str,
    argv: Sequence[str],
    port: int,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    ready: Callable[[], None] | None = None,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Run ``argv`` (which must listen on ``port``), yield it, then stop it (SIGINT, then kill)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            preexec_fn=_raise_fd_limit,
        )
    server = Server(name, process, port, log, ProcessStats(name))
    try:
        _wait_listening(port, process, log, timeout)
        if ready is not None:
            ready()
        yield server
    finally:
        server.sample()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def jubao_argv(*args: str) -> list[str]:
    # what the installed `jubao` script runs (a tree from before `run`, as bench.ab may be given,
    # runs its command on importing jubao.__main__, before the name is looked up)
    return [sys.executable, "-c", "from jubao.__main__ import run; run()", *args]
