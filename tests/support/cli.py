"""Runs ``jubao`` commands in-process (click's runner), as an operator would type them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from click.testing import CliRunner, Result

from jubao.cli import main

# No master key or plaintext permission leaks in from the environment the tests run in.
CLEAN_ENV: Mapping[str, str | None] = {
    "JUBAO_MASTER_KEY": None,
    "JUBAO_MASTER_KEY_OLD": None,
    "JUBAO_ALLOW_PLAINTEXT_SECRETS": None,
}


def jubao(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """``jubao ARGS`` with ``env`` over a clean environment; never raises (see ``.exception``)."""
    return CliRunner(env={**CLEAN_ENV, **(env or {})}).invoke(main, list(args))


async def jubao_async(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """The same from async code (a command runs its own event loop, so in a thread)."""
    return await asyncio.to_thread(jubao, *args, env=env)


def field(output: str, name: str) -> str:
    """The value printed after ``name`` (``app_id      123``), e.g. by ``merchant create``."""
    found = re.search(rf"^{re.escape(name)}\s+(\S+)", output, re.MULTILINE)
    assert found, f"no {name} in {output!r}"
    return found[1]
