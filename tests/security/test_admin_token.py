"""The admin token cannot be guessed: failed attempts on the console login and the admin API are
throttled per client and overall (a clear 429, the right token refused too while throttled), a
weak token stops `jubao serve`, and a failed attempt is logged without the token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from jubao.cli import main
from jubao.security.admin_token import (
    CLIENT_FAILURE_BURST,
    GuessThrottle,
    admin_token_problem,
)
from jubao.web.admin import admin_routes
from tests.console.support import ADMIN_TOKEN, ConsoleWorld, build_world, client_for, hidden

ADMIN_API = "/admin/api/notifications"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ConsoleWorld]:
    built = await build_world(tmp_path / "data")
    built.app.router.routes.extend(admin_routes(built.runtime))
    try:
        yield built
    finally:
        await built.runtime.stop()


async def login(client: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login", data={"csrf": hidden(page.text, "csrf"), "token": token}
    )


async def test_console_guesses_are_throttled_and_logged_without_the_token(
    world: ConsoleWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(world) as client:
        for attempt in range(int(CLIENT_FAILURE_BURST)):
            answer = await login(client, f"guess-{attempt}")
            assert answer.status_code == 401, answer.text
        throttled = await login(client, "guess-next")
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) >= 1
        assert "秒后再试" in throttled.text
        # the right token is refused too while throttled: a guesser learns nothing at speed
        assert (await login(client, ADMIN_TOKEN)).status_code == 429
        # the admin API shares the count (same process, same client)
        api = await client.get(ADMIN_API, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert api.status_code == 429
        assert api.json()["error"] == "TOO_MANY_ATTEMPTS"
    logged = [record.getMessage() for record in caplog.records]
    assert sum("wrong admin token" in message for message in logged) == CLIENT_FAILURE_BURST
    assert not any("guess-" in message or ADMIN_TOKEN in message for message in logged)


async def test_admin_api_guesses_are_throttled(world: ConsoleWorld) -> None:
    async with client_for(world) as client:
        for attempt in range(int(CLIENT_FAILURE_BURST)):
            wrong = await client.get(ADMIN_API, headers={"Authorization": f"Bearer x{attempt}"})
            assert wrong.status_code == 401
        refused = await client.get(ADMIN_API, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"].isdigit()


async def test_successes_cost_nothing(world: ConsoleWorld) -> None:
    async with client_for(world) as client:
        for _ in range(3 * int(CLIENT_FAILURE_BURST)):
            ok = await client.get(ADMIN_API, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert ok.status_code == 200


def test_the_throttle_per_client_overall_and_recovering() -> None:
    now = [0.0]
    throttle = GuessThrottle(
        client_rate=1.0, client_burst=2, global_rate=1.0, global_burst=3, clock=lambda: now[0]
    )
    throttle.failed("a", "test")
    throttle.failed("a", "test")
    assert throttle.retry_after("a") > 0
    assert throttle.retry_after("b") == 0  # another client is not blocked by a's guesses
    throttle.failed("b", "test")
    assert throttle.retry_after("c") > 0  # ... until everybody together is over the limit
    now[0] = 1.0
    assert throttle.retry_after("a") == 0 and throttle.retry_after("c") == 0


@pytest.mark.parametrize(
    ("token", "weak"),
    [
        ("", False),  # disables the console and the admin API
        ("admin123", True),
        ("a" * 40, True),
        ("1234567890" * 3, False),
        ("kT3v9QmZ2xLw8RpB5nYc7HdJ", False),
        ("kT3v9QmZ2xLw8RpB5nYc7Hd", True),  # 23 characters
    ],
)
def test_token_strength(token: str, weak: bool) -> None:
    assert (admin_token_problem(token) is not None) == weak


def test_serve_refuses_a_weak_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUBAO_ADMIN_TOKEN", "admin123")
    monkeypatch.setenv("JUBAO_ALLOW_PLAINTEXT_SECRETS", "true")  # only the token is in question
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "serve"])
    assert result.exit_code == 1
    assert "JUBAO_ADMIN_TOKEN is shorter than 24" in result.output + str(result.exception)
    assert "admin123" not in result.output + str(result.exception)
