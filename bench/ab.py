"""Side by side: two source trees (or two settings) served at once, wrk runs alternated A B B A,
CPU per request of each server from ``/proc``: how each change in docs/benchmarks.md was
measured on a machine shared with other load.

    git archive HEAD src | tar -x -C /tmp/before
    python -m bench.ab production /tmp/before/src src
    python -m bench.ab query src src --env-a JUBAO_LOG_LEVEL=INFO --env-b JUBAO_LOG_LEVEL=WARNING
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import production, scenarios, signer
from bench.loadgen import run_wrk
from bench.scenarios import MAX_RATE, PATH
from bench.servers import Server, free_port, jubao_argv, run_server, tree_cpu_seconds


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def _one(server: Server, upstream: Server | None, prefix: Path, seconds: float) -> dict[str, float]:
    server.wait_idle()
    before = tree_cpu_seconds(server.process.pid)
    load = run_wrk(server.base_url, PATH, prefix, connections=64, seconds=seconds)
    used = tree_cpu_seconds(server.process.pid) - before
    return {
        "rate": round(load.rate),
        "cpu_ms": round(used * 1000 / max(load.requests, 1), 3),
        "p99_ms": load.p99_ms,
        "errors": load.errors,
        "wraps": load.wraps,  # bodies replayed: only a mina run cares
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("scenario", choices=["production", "query"])
    parser.add_argument("src_a")
    parser.add_argument("src_b")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--env-a", default="", help="K=V,K=V for A's server")
    parser.add_argument("--env-b", default="", help="K=V,K=V for B's server")
    args = parser.parse_args()
    envs = [
        {"PYTHONPATH": args.src_a, **_pairs(args.env_a)},
        {"PYTHONPATH": args.src_b, **_pairs(args.env_b)},
    ]
    with tempfile.TemporaryDirectory(prefix="jubao-ab-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        servers: list[Server] = []
        upstream: Server | None = None
        bodies: Callable[[int, int], Path]
        if args.scenario == "production":
            url = stack.enter_context(scenarios.postgres_database())
            deployed = stack.enter_context(production.deployment(work, url))
            upstream = deployed.simulator
            for index, env in enumerate(envs):
                port = free_port()
                env = {**deployed.env, "JUBAO_PUBLIC_URL": f"http://127.0.0.1:{port}", **env}
                argv = jubao_argv("serve", "--port", str(port))
                log = work / f"serve{index}.log"
                servers.append(
                    stack.enter_context(run_server(f"s{index}", argv, port, log, env=env))
                )

            def bodies(index: int, run: int) -> Path:
                prefix = work / f"mina-{index}-{run}"
                count = round(MAX_RATE * args.seconds)
                signer.write_split(signer.mina_bodies(deployed.merchant, f"ab{index}r{run}", count),
                                   prefix, 2)  # fmt: skip
                return prefix
        else:
            prefixes = []
            for index, env in enumerate(envs):
                port, data = free_port(), work / f"sandbox{index}"
                argv = jubao_argv("sandbox", "--port", str(port), "--data-dir", str(data))
                env = {"JUBAO_RATE_LIMIT_PER_SECOND": "0", **env}
                log = work / f"sandbox{index}.log"
                server = stack.enter_context(run_server(f"q{index}", argv, port, log, env=env))
                merchant = scenarios.merchant_of_dir(data)
                sns = scenarios.seed_paid_orders(server, merchant, 64)
                prefix = work / f"query-{index}"
                signer.write_split(signer.query_bodies(merchant, sns, 8192), prefix, 2)
                servers.append(server)
                prefixes.append(prefix)

            def bodies(index: int, run: int) -> Path:
                return prefixes[index]

        for index in (0, 1):  # warm-up
            _one(servers[index], upstream, bodies(index, -1), args.seconds)
        results: list[list[dict[str, float]]] = [[], []]
        for run in range(args.rounds):
            for index in (0, 1) if run % 2 == 0 else (1, 0):
                result = _one(servers[index], upstream, bodies(index, run), args.seconds)
                results[index].append(result)
                print(f"round {run} {'AB'[index]}: {result}", flush=True)
    for index, source in enumerate((args.src_a, args.src_b)):
        cpu = [r["cpu_ms"] for r in results[index]]
        rate = [r["rate"] for r in results[index]]
        print(
            f"{'AB'[index]} {source} {envs[index]}: CPU per request median "
            f"{statistics.median(cpu):.3f} ms {cpu}; rate median {statistics.median(rate)} {rate}"
        )


if __name__ == "__main__":
    main()
