"""Instructions per ``order.query``, counted by callgrind: a measure that does not move with the
machine's load, for changes too small for ``bench.ab``'s CPU times on a busy or noisy machine.

    python -m bench.instructions SRC [SRC ...] [--requests 600]

Each source tree's ``bench.drive`` runs twice under ``valgrind --tool=callgrind`` (100 warm-up
queries, then none or ``--requests`` more); the difference of the two totals over the extra
requests is what a query costs, start-up and warm-up cancelling out. Python's hash seed is fixed
so that both runs take the same paths. Needs valgrind (Debian's ``valgrind``); about two and a
half minutes per tree on two cores. Counts leave out the kernel (system calls, the socket) and
say nothing of caches: they rank changes to jubao's own work, they do not replace ``make bench``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import scenarios
from bench.servers import REPO, free_port, jubao_argv, run_server

_COLLECTED = re.compile(r"Collected : (\d+)")


def paid_orders(work: Path) -> Path:
    """A sandbox data directory with 64 paid orders, listed in ``bench-paid-orders``."""
    port, data = free_port(), work / "sandbox"
    argv = jubao_argv("sandbox", "--port", str(port), "--data-dir", str(data))
    env = {"JUBAO_RATE_LIMIT_PER_SECOND": "0"}
    with run_server("seed", argv, port, work / "seed.log", env=env) as server:
        sns = scenarios.seed_paid_orders(server, scenarios.merchant_of_dir(data), 64)
    (data / "bench-paid-orders").write_text("\n".join(sns), "utf-8")
    return data


def count(source: str, data: Path, requests: int, work: Path) -> int:
    """Instructions per query of the tree at ``source``."""
    env = {**os.environ, "PYTHONPATH": source, "PYTHONHASHSEED": "0"}
    runs = []
    for extra in (0, requests):
        out = work / f"callgrind.{extra}.out"
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        argv += ["-m", "bench.drive", str(data), str(max(extra, 1)), str(requests)]
        runs.append(
            subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    totals = []
    for run in runs:
        _, err = run.communicate()
        found = _COLLECTED.search(err)
        if run.returncode != 0 or found is None:
            raise SystemExit(f"callgrind run failed ({source}):\n{err[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) // (requests - 1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("sources", nargs="+", help="source trees (each a src directory)")
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="jubao-instructions-") as tmp:
        work = Path(tmp)
        data = paid_orders(work)
        for source in args.sources:
            with contextlib.suppress(FileNotFoundError):
                for old in work.glob("callgrind.*"):
                    old.unlink()
            per_query = count(str(Path(source).resolve()), data, args.requests, work)
            print(f"{source}: {per_query:,} instructions per query", flush=True)


if __name__ == "__main__":
    main()
