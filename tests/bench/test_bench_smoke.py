"""The benchmark suite's pure helpers, so it cannot rot silently (no load, no servers)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.loadgen import parse_wrk_output
from bench.stats import Figure, at_least, at_most, info, percentile

from bench import report, signer


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_figures_pass_against_their_targets() -> None:
    assert at_least(3100, 3000, "req/s", "q").passed is True
    assert at_least(2900, 3000, "req/s", "q").passed is False
    assert at_most(120, 100, "ms", "p99").passed is False
    assert at_least(math.nan, 1, "/s", "missing").passed is False
    assert info(5, "x", "ratio").passed is None


def test_result_document_shape() -> None:
    figures: dict[str, Figure] = {
        "a": at_least(2, 1, "/s", "a"),
        "b": info(3, "ms", "b"),
    }
    document = report.result_document(figures, {"mode": "quick"}, {"raw": 1})
    json.loads(report.dumps(document))
    assert document["pass"] is True
    for figure in document["figures"].values():
        assert {"value", "target", "pass", "unit"} <= set(figure)
    assert document["figures"]["a"] == {
        "value": 2, "target": 1, "op": ">=", "pass": True, "unit": "/s", "label": "a",
    }  # fmt: skip
    failing = report.result_document({"c": at_most(2, 1, "", "c")}, {}, {})
    assert failing["pass"] is False


def test_markdown_table_and_marked_section() -> None:
    figures = {"q": at_least(3456.7, 3000, "req/s", "query"), "r": info(0.1234, "x", "ratio")}
    table = report.render_table(figures)
    assert "| query | 3,457 | req/s | >= 3,000 | pass |" in table
    assert "| ratio | 0.123 | x |  |  |" in table
    doc = f"# Benchmarks\n\nintro\n\n{report.START_MARK}\nold\n{report.END_MARK}\n\nanalysis\n"
    updated = report.replace_section(doc, table)
    assert "old" not in updated
    assert updated.startswith("# Benchmarks\n\nintro\n")
    assert updated.endswith("\n\nanalysis\n")
    assert report.replace_section(updated, table) == updated
    assert report.START_MARK in report.replace_section("# B\n", table)


def test_wrk_summary_parsing_counts_every_error() -> None:
    line = (
        'WRKJSON {"requests":100,"duration_us":2000000,"bytes":1,"connect":1,"read":0,'
        '"write":0,"status":0,"timeout":2,"bad":3,"wraps":0,"p50_us":1500,"p90_us":2000,'
        '"p95_us":2500,"p99_us":9000,"max_us":12000,"mean_us":1600.0,"sample":""}'
    )
    result = parse_wrk_output("Running 2s test\n" + line + "\n")
    assert result.rate == 50
    assert result.errors == 6
    assert result.p99_ms == 9


def test_signed_bodies_are_unique_and_verifiable() -> None:
    merchant = signer.Merchant(
        {"app_id": "2026", "app_secret": "s3cret", "store_id": 1, "demo_openid": "o1"}
    )
    bodies = [json.loads(body) for body in signer.mina_bodies(merchant, "t", 3)]
    sns = {json.loads(body["biz_content"])["merchant_order_sn"] for body in bodies}
    assert len(sns) == 3
    for body in bodies:
        assert body["sign"] == signer.sign(body, "s3cret")


# ---- the production scenario, quick: it runs end to end (no timing is asserted) --------------


@pytest.fixture
def bench_postgres() -> Iterator[str]:
    from bench import scenarios

    try:
        database = scenarios.postgres_database()
        url = database.__enter__()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {scenarios.postgres_admin_url()}: {exc}")
    try:
        yield url
    finally:
        database.__exit__(None, None, None)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_production_scenario_runs(bench_postgres: str, tmp_path: Path) -> None:
    import httpx
    from bench.loadgen import wrk_path
    from bench.servers import free_port, jubao_argv

    from bench import production, scenarios

    with production.deployment(tmp_path, bench_postgres) as deployed:
        with production.serve(deployed, workers=1) as server:
            body = signer.signed_body(
                deployed.merchant, signer.MINA, signer.mina_biz(deployed.merchant, "smoke-1"), "n"
            )
            answer = httpx.post(f"{server.base_url}/gateway", content=body, trust_env=False)
            assert answer.json()["result_code"] == 200, answer.text
            assert answer.json()["data"]["sign_params"]["paySign"]
            if wrk_path() is not None:
                result = production.measure(scenarios.Plan(quick=True), deployed, server, "t")
                assert result.orders > 0  # errors are not asserted: a loaded machine times out
                assert result.gateway_cpu_ms > 0 and result.simulator_cpu_ms > 0
                # the share is the two signatures over the gateway's CPU per order, which holds
                # two real signatures (each well above 0.05 ms on any machine this runs on)
                share = result.rsa_share(signature_ms=0.05)
                assert share == pytest.approx(0.1 / result.gateway_cpu_ms)
                assert 0 < share < 1
        port = free_port()
        env = {**deployed.env, "JUBAO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        query = signer.signed_body(deployed.merchant, signer.QUERY, {"merchant_order_sn": "x"}, "q")
        argv = jubao_argv("serve", "--port", str(port))
        seconds, cpu = production.first_answer(argv, env, query, port, tmp_path / "first.log")
        assert seconds > 0 and cpu > 0


def test_rsa_share_is_the_signatures_part_of_the_gateways_cpu() -> None:
    from bench.loadgen import LoadResult
    from bench.production import ProductionResult

    load = LoadResult(100, 1.0, 0, 0, 1.0, 2.0, 3.0, 4.0, "")
    result = ProductionResult(load, 100, gateway_cpu_ms=4.0, simulator_cpu_ms=1.0)
    assert result.rsa_share(signature_ms=0.5) == 0.25
    assert result.rsa_share(signature_ms=1.0, signatures=3) == 0.75


@pytest.mark.slow
def test_the_instruction_count_harness_drives_real_queries(tmp_path: Path) -> None:
    """``bench.instructions`` counts what ``bench.drive`` does: the driver must really answer
    queries through jubao's protocol (it stops if a query fails); valgrind itself is not run."""
    import subprocess
    import sys

    from bench.instructions import paid_orders
    from bench.servers import REPO

    data = paid_orders(tmp_path)
    assert len((data / "bench-paid-orders").read_text("utf-8").split()) == 64
    done = subprocess.run(
        [sys.executable, "-m", "bench.drive", str(data), "20", "30"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.fullmatch(r"[\d.]+ us of CPU per query over 20\n", done.stdout), done.stdout


@pytest.mark.postgres
@pytest.mark.slow
def test_the_mina_instruction_harness_places_real_orders(
    bench_postgres: str, tmp_path: Path
) -> None:
    """``bench.instructions --scenario mina`` counts what ``bench.drive_mina`` does: ``jubao
    serve``'s app must really place orders with the simulator (the driver stops if the last
    warm-up order fails); valgrind itself is not run."""
    import os
    import subprocess
    import sys

    from bench.instructions import mina_deployment
    from bench.servers import REPO

    with mina_deployment(tmp_path, bench_postgres) as (env, merchant):
        done = subprocess.run(
            [sys.executable, "-m", "bench.drive_mina", str(merchant), "smoke", "3", "5"],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.fullmatch(r"[\d.]+ ms of CPU per order over 3\n", done.stdout), done.stdout
    assert done.stderr.count("sub_code=SUCCESS") == 33  # 30 warm-up orders, then 3: all placed
