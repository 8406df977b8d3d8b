"""Instructions per ``order.query``, or per mina order in the production topology, counted by
callgrind: a measure that does not move with the machine's load, for changes too small for
``bench.ab``'s CPU times on a busy or noisy machine.

    python -m bench.instructions SRC [SRC ...] [--scenario query|mina] [--requests N]

``query`` (the default): each source tree's ``bench.drive`` runs twice under ``valgrind
--tool=callgrind`` (100 warm-up queries, then one or ``--requests`` (600) more); the difference of
the two totals over the extra requests is what a query costs, start-up and warm-up cancelling out.

``mina``: one ``bench.production`` deployment (a fresh PostgreSQL database, ``jubao simulator``
as WeChat Pay in its own process) serves every tree; each tree's ``bench.drive_mina`` (``jubao
serve``'s app, 30 warm-up orders) runs twice the same way (``--requests`` default 150), each run
with its own ``merchant_order_sn`` prefix so that every order is new. The simulator and PostgreSQL
are other processes, not counted: the count is the gateway's own work per order. Under valgrind
the gateway runs many times slower, so the driven process gets ``JUBAO_REQUEST_TIMEOUT_SECONDS``
and ``JUBAO_WECHAT_TIMEOUT_SECONDS`` of 600 so that no deadline cuts an order (the same code paths
as the defaults: timers that never fire), and a fixed ``JUBAO_PUBLIC_URL`` (the ``notify_url``
in every order sent to WeChat). About three minutes per tree, plus one for the deployment and
the signature.

``mina`` also prints the instructions of one RSA-2048 signature (``ceilings.sign_times``, 21
against 1 signature, with a key made beforehand) and each tree's ``rsa_share`` in instructions:
two signatures over the gateway's instructions per order. Under valgrind OpenSSL takes a slower
generic path than natively (docs/benchmarks.md), so that share is well above the CPU-time
``rsa_share`` of ``make bench``: it is a figure that does not move, to compare trees by.

Python's hash seed is fixed so that both runs take the same paths. Needs valgrind (Debian's
``valgrind``); ``query`` takes about two and a half minutes per tree on two cores. Counts leave out
the kernel (system calls, the socket) and say nothing of caches: they rank changes to jubao's own
work, they do not replace ``make bench``.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import scenarios
from bench.servers import REPO, free_port, jubao_argv, run_server

_COLLECTED = re.compile(r"Collected : (\d+)")
SIGNATURES = 20  # signatures the longer of the two RSA runs makes beyond the shorter's one
# the driven gateway under valgrind: deadlines that never cut it (module docstring)
SLOW_ENV = {
    "JUBAO_REQUEST_TIMEOUT_SECONDS": "600",
    "JUBAO_WECHAT_TIMEOUT_SECONDS": "600",
    "JUBAO_PUBLIC_URL": "http://127.0.0.1:8600",
}


def paid_orders(work: Path) -> Path:
    """A sandbox data directory with 64 paid orders, listed in ``bench-paid-orders``."""
    port, data = free_port(), work / "sandbox"
    argv = jubao_argv("sandbox", "--port", str(port), "--data-dir", str(data))
    env = {"JUBAO_RATE_LIMIT_PER_SECOND": "0"}
    with run_server("seed", argv, port, work / "seed.log", env=env) as server:
        sns = scenarios.seed_paid_orders(server, scenarios.merchant_of_dir(data), 64)
    (data / "bench-paid-orders").write_text("\n".join(sns), "utf-8")
    return data


def difference(
    argv_for: Callable[[int, int], list[str]], extra: int, env: dict[str, str], work: Path
) -> int:
    """Run ``argv_for(run, n)`` for n = 1 and n = ``extra`` under callgrind, side by side, and
    return the difference of their totals over ``extra - 1``: what one more unit costs."""
    runs = []
    for index, n in enumerate((1, extra)):
        out, log = work / f"callgrind.{index}.out", work / f"callgrind.{index}.log"
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        with log.open("wb") as err:  # a file, not a pipe: a full pipe would stall the run
            process = subprocess.Popen(
                argv + argv_for(index, n),
                cwd=REPO,
                env={**os.environ, **env, "PYTHONHASHSEED": "0"},
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        runs.append((process, log))
    totals = []
    for process, log in runs:
        process.wait()
        text = log.read_text("utf-8", "replace")
        found = _COLLECTED.search(text)
        if process.returncode != 0 or found is None:
            raise SystemExit(f"callgrind run failed:\n{text[-3000:]}")
        totals.append(int(found.group(1)))
    for old in work.glob("callgrind.*"):
        old.unlink()
    return (totals[1] - totals[0]) // (extra - 1)


def per_query(source: str, data: Path, requests: int, work: Path) -> int:
    """Instructions per query of the tree at ``source``."""

    def argv(_run: int, n: int) -> list[str]:
        return ["-m", "bench.drive", str(data), str(n), str(requests)]

    return difference(argv, requests, {"PYTHONPATH": source}, work)


def per_signature(work: Path) -> int:
    """Instructions per RSA-2048 signature of ``ceilings.MESSAGE``, with a key made here."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = work / "rsa.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    script = (
        "import sys; from bench import ceilings; ceilings.sign_times(sys.argv[1], int(sys.argv[2]))"
    )

    def argv(_run: int, n: int) -> list[str]:
        return ["-c", script, str(pem), str(n)]

    return difference(argv, SIGNATURES + 1, {}, work)


@contextlib.contextmanager
def mina_deployment(work: Path, database_url: str) -> Iterator[tuple[dict[str, str], Path]]:
    """The production deployment the mina runs share: the env to drive its gateway with, and a
    file with its merchant as JSON (``bench.drive_mina``'s arguments)."""
    from bench import production

    with production.deployment(work, database_url) as deployed:
        merchant = deployed.merchant
        info = {
            "app_id": merchant.app_id,
            "app_secret": merchant.app_secret,
            "store_id": merchant.store_id,
            "demo_openid": merchant.openid,
        }
        path = work / "merchant.json"
        path.write_text(json.dumps(info), "utf-8")
        yield {**deployed.env, **SLOW_ENV}, path


def per_order(
    source: str, tree: int, deployed: tuple[dict[str, str], Path], requests: int, work: Path
) -> int:
    """Instructions per mina order of the tree at ``source`` (the ``tree``-th: its prefixes)."""
    env, merchant = deployed

    def argv(run: int, n: int) -> list[str]:
        prefix = f"t{tree:02d}{'ab'[run]}"  # as long for both runs: equal bodies, new orders
        return ["-m", "bench.drive_mina", str(merchant), prefix, str(n), str(requests)]

    return difference(argv, requests, {**env, "PYTHONPATH": source}, work)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("sources", nargs="+", help="source trees (each a src directory)")
    parser.add_argument("--scenario", choices=["query", "mina"], default="query")
    parser.add_argument("--requests", type=int, help="extra requests (query 600, mina 150)")
    args = parser.parse_args()
    requests = args.requests or (600 if args.scenario == "query" else 150)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    sources = [str(Path(source).resolve()) for source in args.sources]
    for tree in [*sources, str(REPO / "bench")]:
        # compiled beforehand: the two runs of a tree start together, and one writing a module's
        # .pyc while the other compiles it again would count a compilation in one run only
        compileall.compile_dir(tree, quiet=1)
    with tempfile.TemporaryDirectory(prefix="jubao-instructions-") as tmp:
        work = Path(tmp)
        if args.scenario == "query":
            data = paid_orders(work)
            for name, source in zip(args.sources, sources, strict=True):
                count = per_query(source, data, requests, work)
                print(f"{name}: {count:,} instructions per query", flush=True)
            return
        signature = per_signature(work)
        print(f"RSA-2048: {signature:,} instructions per signature", flush=True)
        with scenarios.postgres_database() as url, mina_deployment(work, url) as deployed:
            for index, (name, source) in enumerate(zip(args.sources, sources, strict=True)):
                count = per_order(source, index, deployed, requests, work)
                share = 2 * signature / count
                print(
                    f"{name}: {count:,} instructions per mina order, rsa_share {share:.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
