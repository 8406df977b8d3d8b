"""The load generator: wrk (C, epoll; Debian package ``wrk``) replaying pre-signed bodies through
``replay.lua``. wrk's own CPU time is measured (``wait4``) and reported, so one can see it is not
the bottleneck."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LoadResult", "parse_wrk_output", "run_wrk", "wrk_path"]

LUA = Path(__file__).with_name("replay.lua")
MARK = "WRKJSON "


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # transport errors + non-200 statuses + envelopes that are not result_code 200
    wraps: int  # times a thread ran out of bodies and started over (0 expected)
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    sample: str  # the first failing answer, if any
    loadgen_cpu_seconds: float = float("nan")
    loadgen_peak_rss_mb: float = float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def loadgen_cpu_share(self) -> float:
        """wrk's CPU time over the wall time: cores it kept busy (of ``os.cpu_count()``)."""
        return self.loadgen_cpu_seconds / self.seconds if self.seconds > 0 else float("nan")


def parse_wrk_output(stdout: str) -> LoadResult:
    """Read the JSON line that ``replay.lua``'s ``done()`` prints."""
    for line in stdout.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK) :])
            break
    else:
        raise RuntimeError(f"no summary in wrk output:\n{stdout[-2000:]}")
    transport = sum(data[key] for key in ("connect", "read", "write", "timeout"))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=transport + data["bad"],
        wraps=data["wraps"],
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        sample=data["sample"],
    )


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    base_url: str,
    path: str,
    bodies_prefix: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
) -> LoadResult:
    """Replay ``bodies_prefix.<thread>`` against ``base_url + path`` for ``seconds``."""
    binary = wrk_path()
    if binary is None:
        raise RuntimeError("wrk not found: apt-get install wrk")
    argv = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base_url,
        "--",
        str(bodies_prefix),
        path,
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        # wait4 rather than wait: it also returns wrk's CPU time and peak RSS
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr or stdout}")
    result = parse_wrk_output(stdout)
    return dataclasses.replace(
        result,
        loadgen_cpu_seconds=usage.ru_utime + usage.ru_stime,
        loadgen_peak_rss_mb=usage.ru_maxrss / 1024,
    )
