"""Fixtures the browser tests share: Debian's chromium, and the console sandbox behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.console.support import ADMIN_TOKEN, running_console_sandbox
from tests.support.sandbox import RunningSandbox

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 - one stat before the browser starts
        pytest.skip("chromium not installed: apt-get install chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    """The sandbox with the console mounted; a module needing other settings overrides it."""
    async with running_console_sandbox(tmp_path / "data", admin_token=ADMIN_TOKEN) as running:
        yield running
