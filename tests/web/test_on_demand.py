"""What a start leaves for later (web/ondemand.py, docs/benchmarks.md "Round seven"): the console,
jinja2 and x509 are imported on first use, and the console then serves as if mounted at start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jubao.web.ondemand import OnDemand

# Built with the sandbox, which is everything `serve` builds plus the simulators; then one
# console page is asked for.
_SCRIPT = """
import asyncio, json, sys
import httpx
from jubao.config import Settings
from jubao.sandbox import build_sandbox

LATER = ("jinja2", "cryptography.x509", "jubao.web.console.routes")

async def main():
    settings = Settings.from_env(env={}, data_dir=sys.argv[1])
    app, runtime, _, _ = await build_sandbox(settings)
    at_start = [name for name in LATER if name in sys.modules]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/console/login")
    after = [name for name in LATER if name in sys.modules]
    await runtime.stop()
    print(json.dumps({"at_start": at_start, "status": page.status_code, "after": after}))

asyncio.run(main())
"""


def test_a_start_imports_neither_the_console_nor_jinja2_nor_x509(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["at_start"] == []
    assert seen["status"] == 200
    assert seen["after"] == ["jinja2", "jubao.web.console.routes"]


def _app(built: list[int]) -> Starlette:
    async def page(request: object) -> PlainTextResponse:
        return PlainTextResponse("page")

    async def other(request: object) -> PlainTextResponse:
        return PlainTextResponse("other")

    def build() -> list[Route]:
        built.append(1)
        return [Route("/pages", page), Route("/pages/one", page)]

    return Starlette(routes=[OnDemand("/pages", build), Route("/pagesx", other)])


async def test_the_routes_are_built_once_on_the_first_request_and_serve_as_mounted() -> None:
    built: list[int] = []
    app = _app(built)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/pagesx")).text == "other"  # a neighbour, not under the prefix
        assert built == []
        assert (await client.get("/pages")).text == "page"
        assert (await client.get("/pages/one")).text == "page"
        assert (await client.get("/pages/none")).status_code == 404
        slash = await client.get("/pages/one/", follow_redirects=False)
        assert slash.status_code == 307
        assert slash.headers["location"].endswith("/pages/one")
    assert built == [1]
