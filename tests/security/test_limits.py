"""Limits: per-app rate limiting (answered at once, other apps unaffected, only signed requests
count), the whole-request timeout, and the upstream (WeChat) timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.security.support import assert_failure, post_signed
from tests.support.sandbox import running_sandbox

pytestmark = pytest.mark.slow

TIME = "openapi.get.time"


async def test_a_flooded_app_is_refused_at_once_and_another_app_is_not_slowed(
    tmp_path: Path,
) -> None:
    async with running_sandbox(
        tmp_path / "data", rate_limit_per_second=2, rate_limit_burst=5
    ) as running:
        info = running.info
        other = await running.runtime.merchants.create_app(info["merchant_id"])

        started = time.perf_counter()
        flood = await asyncio.gather(
            *(post_signed(running, info["app_id"], info["app_secret"]) for _ in range(60))
        )
        flood_seconds = time.perf_counter() - started
        passed = [answer for answer in flood if answer["result_code"] == 200]
        refused = [answer for answer in flood if answer.get("sub_code") == "RATE_LIMITED"]
        assert 5 <= len(passed) <= 8, flood  # the burst, plus what refilled meanwhile
        assert len(passed) + len(refused) == 60
        assert_failure(refused[0], "RATE_LIMITED")
        # refused without waiting: sleeping for tokens would take ~27 s at 2/s
        assert flood_seconds < 5, flood_seconds

        started = time.perf_counter()
        answer = await post_signed(running, other.app.app_id, other.app_secret)
        assert answer["result_code"] == 200, answer
        assert time.perf_counter() - started < 1.0

        assert (await post_signed(running, info["app_id"], info["app_secret"]))[
            "sub_code"
        ] == "RATE_LIMITED"
        await asyncio.sleep(0.6)  # one token at 2/s
        assert (await post_signed(running, info["app_id"], info["app_secret"]))[
            "result_code"
        ] == 200


async def test_unsigned_requests_do_not_spend_an_apps_budget(tmp_path: Path) -> None:
    async with running_sandbox(
        tmp_path / "data", rate_limit_per_second=0.01, rate_limit_burst=2
    ) as running:
        app_id, secret = running.info["app_id"], running.info["app_secret"]
        for _ in range(20):
            assert_failure(await post_signed(running, app_id, "not-the-secret"), "SIGN_ERROR")
        assert (await post_signed(running, app_id, secret))["result_code"] == 200
        assert (await post_signed(running, app_id, secret))["result_code"] == 200
        assert_failure(await post_signed(running, app_id, secret), "RATE_LIMITED")


async def test_rate_limit_zero_is_off(tmp_path: Path) -> None:
    async with running_sandbox(
        tmp_path / "data", rate_limit_per_second=0, rate_limit_burst=1
    ) as running:
        app_id, secret = running.info["app_id"], running.info["app_secret"]
        answers = await asyncio.gather(*(post_signed(running, app_id, secret) for _ in range(30)))
        assert all(answer["result_code"] == 200 for answer in answers)


async def test_a_slow_request_answers_timeout_and_its_work_still_completes(
    tmp_path: Path,
) -> None:
    async with running_sandbox(tmp_path / "data", request_timeout_seconds=0.3) as running:
        running.simulator.set_latency(1200)
        started = time.perf_counter()
        first = await running.mina("timeout-1")
        assert time.perf_counter() - started < 1.0
        assert_failure(first, "TIMEOUT")
        running.simulator.set_latency(0)
        await asyncio.sleep(1.5)  # the prepay started by the first request finishes
        again = await running.mina("timeout-1")
        assert again["result_code"] == 200, again
        assert again["data"]["prepay_id"]
        query = await running.call(TIME, {})
        assert query["result_code"] == 200


async def test_upstream_timeout_is_a_clean_channel_unavailable(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data", wechat_timeout_seconds=0.2) as running:
        running.simulator.set_latency(1000)
        started = time.perf_counter()
        answer = await running.mina("upstream-slow-1")
        assert time.perf_counter() - started < 0.9
        assert_failure(answer, "CHANNEL_UNAVAILABLE")
        running.simulator.set_latency(0)
        retried = await running.mina("upstream-slow-1")
        assert retried["result_code"] == 200, retried
