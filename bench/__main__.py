"""``python -m bench [--quick]``: run every scenario, print the table, write
``bench/results/latest.json`` and the marked section of ``docs/benchmarks.md``."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import production, report, scenarios, signer
from bench.ceilings import rsa_cpu_ms_per_signature, rsa_signatures_per_second
from bench.loadgen import LoadResult
from bench.servers import REPO, Server, free_port, jubao_argv
from bench.stats import Figure, at_least, at_most, info

# RSA private-key operations per mina order in the sandbox: the v3 request signature and paySign
# (jubao) plus the simulator's signature of its answer. The two verifications (simulator checks
# jubao's request, jubao checks the answer) are public-key operations ~20x cheaper: not counted.
SIGNATURES_PER_ORDER = 3
# In production (the simulator out of process) the gateway itself makes two: the v3 request's
# Authorization and paySign.
GATEWAY_SIGNATURES_PER_ORDER = 2
STARTUP_TARGET_SECONDS = 1.0
MAX_RSS_MB = 250.0
RESULTS = REPO / "bench" / "results" / "latest.json"
DOC = REPO / "docs" / "benchmarks.md"


class Run:
    def __init__(self, plan: scenarios.Plan, work: Path) -> None:
        self.plan = plan
        self.work = work
        self.figures: dict[str, Figure] = {}
        self.details: dict[str, Any] = {}
        self.rss: dict[str, float] = {}

    def say(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)

    def load(self, name: str, result: LoadResult) -> None:
        self.details[name] = {
            **{k: v for k, v in result.__dict__.items() if not isinstance(v, float) or
               not math.isnan(v)},
            "rate": result.rate,
            "loadgen_cpu_share": result.loadgen_cpu_share,
        }  # fmt: skip
        self.rss["wrk"] = max(self.rss.get("wrk", 0.0), result.loadgen_peak_rss_mb)
        extra = f", wraps {result.wraps}" if result.wraps else ""
        sample = f", first bad answer: {result.sample[:120]}" if result.sample else ""
        self.say(
            f"{name}: {result.rate:,.0f}/s p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} ms, "
            f"errors {result.errors}{extra}, wrk cpu {result.loadgen_cpu_share:.2f} core{sample}"
        )

    def server_done(self, server: Server) -> None:
        self.rss[server.name] = server.stats.peak_rss_mb
        self.details.setdefault("cpu_seconds", {})[server.name] = server.stats.cpu_seconds

    # ---- parts -------------------------------------------------------------------------------

    def ceilings(self) -> tuple[float, float]:
        self.say("RSA ceiling")
        rsa = rsa_signatures_per_second(self.plan.rsa_seconds)
        self.figures["ceiling.rsa"] = info(rsa, "sig/s", "RSA-2048 SHA256 signatures, all cores")
        self.say(f"RSA: {rsa:,.0f} signatures/s")
        echo, server = scenarios.echo_ceiling(self.plan, self.work, connections=64)
        self.server_done(server)
        self.load("echo", echo)
        self.figures["ceiling.echo"] = info(echo.rate, "req/s", "echo ceiling (Starlette+uvicorn)")
        self.figures["ceiling.echo.errors"] = at_most(echo.errors, 0, "", "echo errors")
        return rsa, echo.rate

    def mina_figures(self, key: str, label: str, result: LoadResult) -> None:
        self.load(key, result)
        self.figures[f"{key}.rate"] = info(result.rate, "orders/s", f"{label}: throughput")
        for p in ("p50", "p95"):
            value = getattr(result, f"{p}_ms")
            self.figures[f"{key}.{p}"] = info(value, "ms", f"{label}: {p}")
        errors = result.errors + result.wraps
        self.figures[f"{key}.errors"] = at_most(errors, 0, "", f"{label}: errors")

    def sqlite(self, rsa: float, echo: float) -> None:
        plan, work = self.plan, self.work
        with scenarios.sandbox("sandbox-sqlite", work) as server:
            merchant = scenarios.merchant_of(server, work)
            self.say("mina on SQLite, 64 clients")
            mina = scenarios.measure_mina(plan, server, merchant, work, 64, "sqlite")
            self.mina_figures("sqlite.mina", "mina SQLite", mina)
            ratio = mina.rate * SIGNATURES_PER_ORDER / rsa
            self.figures["sqlite.mina.p99"] = at_most(mina.p99_ms, 100, "ms", "mina SQLite: p99")
            self.figures["sqlite.mina.rsa_ratio"] = at_least(
                ratio, 0.5, "x", f"mina SQLite: x{SIGNATURES_PER_ORDER} signatures / RSA ceiling"
            )
            self.say("query on SQLite, 64 clients")
            sns = scenarios.seed_paid_orders(server, merchant, plan.paid_orders)
            query = scenarios.measure_query(plan, server, merchant, sns, work, 64, "sqlite")
            self.query_figures("sqlite.query", "query SQLite", query, 3000, echo)
            self.say("mina with 200 ms upstream latency, 512 clients")
            scenarios.set_latency(server, 200)
            slow = scenarios.measure_mina(plan, server, merchant, work, 512, "slow")
            scenarios.set_latency(server, 0)
            self.load("sqlite.mina_200ms", slow)
            self.figures["sqlite.mina_200ms.rate"] = info(
                slow.rate, "orders/s", "mina +200 ms upstream, 512 clients: throughput"
            )
            self.figures["sqlite.mina_200ms.p50"] = info(
                slow.p50_ms, "ms", "mina +200 ms upstream: p50"
            )
            self.figures["sqlite.mina_200ms.ratio"] = at_least(
                slow.rate / mina.rate if mina.rate else math.nan, 0.8, "x",
                "mina +200 ms upstream / mina 0 ms",
            )  # fmt: skip
            self.figures["sqlite.mina_200ms.errors"] = at_most(
                slow.errors + slow.wraps, 0, "", "mina +200 ms upstream: errors"
            )
        self.server_done(server)

    def query_figures(
        self, key: str, label: str, result: LoadResult, target: float, echo: float
    ) -> None:
        self.load(key, result)
        self.figures[f"{key}.rate"] = at_least(result.rate, target, "req/s", f"{label}: throughput")
        self.figures[f"{key}.p99"] = info(result.p99_ms, "ms", f"{label}: p99")
        if key.startswith("sqlite"):
            self.figures[f"{key}.echo_ratio"] = at_least(
                result.rate / echo, 0.45, "x", f"{label} / echo ceiling"
            )
        else:
            self.figures[f"{key}.echo_ratio"] = info(result.rate / echo, "x", f"{label} / echo")
        self.figures[f"{key}.errors"] = at_most(result.errors, 0, "", f"{label}: errors")

    def postgres(self, echo: float) -> None:
        plan, work = self.plan, self.work
        try:
            database = scenarios.postgres_database()
            url = database.__enter__()
        except (OSError, RuntimeError) as exc:  # no server: the figures fail, visibly
            self.say(f"PostgreSQL unavailable at {scenarios.postgres_admin_url()}: {exc}")
            for name in ("postgres.mina.rate", "postgres.query.rate"):
                self.figures[name] = at_least(math.nan, 1, "/s", f"{name} (no PostgreSQL)")
            return
        try:
            with scenarios.sandbox("sandbox-postgres", work, url) as server:
                merchant = scenarios.merchant_of(server, work)
                self.say("mina on PostgreSQL, 64 clients")
                mina = scenarios.measure_mina(plan, server, merchant, work, 64, "pg")
                self.mina_figures("postgres.mina", "mina PostgreSQL", mina)
                self.figures["postgres.mina.rate"] = at_least(
                    mina.rate, 300, "orders/s", "mina PostgreSQL: throughput"
                )
                self.figures["postgres.mina.p99"] = info(mina.p99_ms, "ms", "mina PostgreSQL: p99")
                self.say("query on PostgreSQL, 64 clients")
                sns = scenarios.seed_paid_orders(server, merchant, plan.paid_orders)
                query = scenarios.measure_query(plan, server, merchant, sns, work, 64, "pg")
                self.query_figures("postgres.query", "query PostgreSQL", query, 1500, echo)
            self.server_done(server)
        finally:
            database.__exit__(None, None, None)

    def production_topology(self) -> None:
        """Issue 18's topology: the simulator, then `serve` with 1 and with 2 workers."""
        plan, work = self.plan, self.work
        self.say("RSA: CPU per signature")
        # measured again after each run, and each run's share taken against the mean of the two
        # around it: a machine's pace drifts (a tenth between runs on a noisy one)
        signatures = [rsa_cpu_ms_per_signature(self.plan.rsa_seconds)]
        self.figures["production.rsa_ms"] = info(
            signatures[0], "ms", "RSA-2048 signature, CPU per signature (one core)"
        )
        try:
            database = scenarios.postgres_database()
            url = database.__enter__()
        except (OSError, RuntimeError) as exc:
            self.say(f"PostgreSQL unavailable at {scenarios.postgres_admin_url()}: {exc}")
            self.figures["production.w1.rate"] = at_least(
                math.nan, 1, "/s", "production (no PostgreSQL)"
            )
            return
        try:
            with production.deployment(work, url) as deployed:
                rates, cpu_ms = {}, {}
                for workers in (1, 2):
                    key, label = f"production.w{workers}", f"production, serve --workers {workers}"
                    with production.serve(deployed, workers) as server:
                        self.say(f"production: serve --workers {workers}, 64 clients")
                        result = production.measure(plan, deployed, server, f"w{workers}")
                    self.server_done(server)
                    signatures.append(rsa_cpu_ms_per_signature(self.plan.rsa_seconds))
                    signature_ms = statistics.mean(signatures[-2:])
                    self.production_figures(key, label, result, signature_ms)
                    rates[workers] = result.load.rate
                    cpu_ms[workers] = result.gateway_cpu_ms
                self.figures["production.rsa_ms"] = info(
                    statistics.mean(signatures), "ms",
                    "RSA-2048 signature, CPU per signature (one core, mean of 3 around the runs)",
                )  # fmt: skip
                self.figures["production.scaling"] = at_least(
                    rates[2] / rates[1] if rates[1] else math.nan, 1.6, "x",
                    "production: orders/s with 2 workers / 1 worker",
                )  # fmt: skip
                # What the ratio above cannot show where the machine is saturated: whether the
                # gateway itself does more work per order with more processes (1.0: it does not)
                self.figures["production.cpu_scaling"] = info(
                    cpu_ms[1] / cpu_ms[2] if cpu_ms[2] else math.nan, "x",
                    "production: orders per gateway CPU-second, 2 workers / 1 worker",
                )  # fmt: skip
                self.startup_serve(deployed)
            self.server_done(deployed.simulator)
        finally:
            database.__exit__(None, None, None)

    def production_figures(
        self, key: str, label: str, result: production.ProductionResult, signature_ms: float
    ) -> None:
        self.load(key, result.load)
        self.details[key]["gateway_cpu_ms"] = result.gateway_cpu_ms
        self.details[key]["simulator_cpu_ms"] = result.simulator_cpu_ms
        self.say(
            f"{key}: gateway {result.gateway_cpu_ms:.2f} ms CPU/order, "
            f"simulator {result.simulator_cpu_ms:.2f} ms CPU/order"
        )
        load = result.load
        self.figures[f"{key}.rate"] = info(load.rate, "orders/s", f"{label}: throughput")
        self.figures[f"{key}.p50"] = info(load.p50_ms, "ms", f"{label}: p50")
        self.figures[f"{key}.p99"] = info(load.p99_ms, "ms", f"{label}: p99")
        self.figures[f"{key}.errors"] = at_most(load.errors + load.wraps, 0, "", f"{label}: errors")
        self.figures[f"{key}.gateway_cpu"] = info(
            result.gateway_cpu_ms, "ms", f"{label}: gateway CPU per order"
        )
        self.figures[f"{key}.simulator_cpu"] = info(
            result.simulator_cpu_ms, "ms", f"{label}: simulator CPU per order"
        )
        # gateway and simulator together, in cores: how much of the machine the run left idle
        busy = (result.gateway_cpu_ms + result.simulator_cpu_ms) * load.rate / 1000
        self.figures[f"{key}.cores_busy"] = info(
            busy, "cores", f"{label}: gateway + simulator CPU in use"
        )
        share = result.rsa_share(signature_ms, GATEWAY_SIGNATURES_PER_ORDER)
        self.figures[f"{key}.rsa_share"] = at_least(
            share, 0.5, "x", f"{label}: rsa_share (2 signatures / gateway CPU per order)"
        )

    def startup_serve(self, deployed: production.Deployment) -> None:
        self.say("time to first answer: serve")
        port = free_port()
        env = {**deployed.env, "JUBAO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        body = signer.signed_body(
            deployed.merchant, signer.QUERY, {"merchant_order_sn": "startup"}, "startup"
        )
        argv = jubao_argv("serve", "--port", str(port))
        seconds, cpu = production.median_first_answer(
            self.plan.startup_runs, argv, env, body, port, self.work / "serve-startup.log"
        )
        self.startup_figures("serve", seconds, cpu)

    def startup_sandbox(self) -> None:
        """A sandbox restarted on its data directory, as after a crash (the first start, which
        generates keys, is not what an operator waits for again)."""
        self.say("time to first answer: sandbox (restart)")
        with scenarios.sandbox("sandbox-startup", self.work):
            pass  # the first start: keys, demo merchant
        merchant = scenarios.merchant_of_dir(self.work / "sandbox-startup")
        port = free_port()
        argv = jubao_argv(
            "sandbox", "--port", str(port), "--data-dir", str(self.work / "sandbox-startup")
        )
        body = signer.signed_body(merchant, signer.QUERY, {"merchant_order_sn": "s"}, "startup")
        seconds, cpu = production.median_first_answer(
            self.plan.startup_runs, argv, {}, body, port, self.work / "sandbox-startup.log"
        )
        self.startup_figures("sandbox", seconds, cpu)

    def startup_figures(self, name: str, seconds: float, cpu: float) -> None:
        self.say(f"{name}: first answer after {seconds:.2f} s, {cpu:.2f} s of CPU")
        self.figures[f"startup.{name}"] = at_most(
            seconds, STARTUP_TARGET_SECONDS, "s", f"{name}: time to first answer"
        )
        self.figures[f"startup.{name}.cpu"] = info(
            cpu, "s", f"{name}: CPU used until the first answer"
        )

    def notifications(self) -> None:
        self.say(f"notifications: {self.plan.notifications} deliveries")
        result, receiver = scenarios.notifications(self.plan, self.work)
        self.server_done(receiver)
        self.rss["dispatcher"] = result["peak_rss_mb"]
        self.details["notifications"] = result
        self.say(f"notifications: {result['rate']:,.0f}/s, {result['not_delivered']} undelivered")
        self.figures["notify.rate"] = at_least(
            result["rate"], 1000, "deliveries/s", "merchant notifications delivered"
        )
        self.figures["notify.errors"] = at_most(
            result["not_delivered"], 0, "", "notifications not delivered"
        )

    def rss_figures(self) -> None:
        for name, mb in sorted(self.rss.items()):
            self.figures[f"rss.{name}"] = at_most(mb, MAX_RSS_MB, "MiB", f"peak RSS: {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--only",
        default="",
        help=(
            "comma-separated parts to run (sqlite, postgres, notify, production, startup); "
            "ceilings always run"
        ),
    )
    args = parser.parse_args(argv)
    every = {"sqlite", "postgres", "notify", "production", "startup"}
    parts = set(args.only.split(",")) if args.only else every
    plan = scenarios.Plan(quick=args.quick)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jubao-bench-") as tmp:
        run = Run(plan, Path(tmp))
        rsa, echo = run.ceilings()
        if "sqlite" in parts:
            run.sqlite(rsa, echo)
        if "postgres" in parts:
            run.postgres(echo)
        if "notify" in parts:
            run.notifications()
        if "production" in parts:
            run.production_topology()
        if "startup" in parts:
            run.startup_sandbox()
        run.rss_figures()
    meta = {
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "seconds": round(time.monotonic() - started, 1),
        "cpus": os.cpu_count(),
        "python": scenarios.python_version(),
        "loadgen": "wrk (2 threads, replay.lua)",
        "signatures_per_order": SIGNATURES_PER_ORDER,
    }
    document = report.result_document(run.figures, meta, run.details)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report.dumps(document), "utf-8")
    print()
    print(report.render_table(run.figures))
    if not args.no_docs:
        text = DOC.read_text("utf-8") if DOC.exists() else "# Benchmarks\n"
        DOC.write_text(report.replace_section(text, report.render_section(document, run.figures)))
    verdict = "every target passed" if document["pass"] else "some targets missed"
    print(f"{verdict}; {meta['seconds']} s; results in {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
