"""Running jubao commands (`python -m jubao serve|worker|simulator`) as real subprocesses, and a
local merchant notification receiver, for multi-process and crash tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.servers import serve_asgi

JUBAO = [sys.executable, "-m", "jubao"]


def read_env(path: Path) -> dict[str, str]:
    """``KEY=value`` lines, as `jubao simulator` writes DATA_DIR/channel.env."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


@dataclass
class Managed:
    """One jubao command that can be killed and started again with the same arguments."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    health_url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        handle = self.log.open("ab")
        handle.write(f"\n---- start {self.starts + 1} ----\n".encode())
        handle.flush()
        self.proc = subprocess.Popen(
            [*JUBAO, *self.args],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, exactly as a crash or an OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_ready(self, within: float = 30.0) -> None:
        if self.health_url is None:
            await asyncio.sleep(0.5)
            return
        await wait_http(self.health_url, within, process=self)


@contextlib.contextmanager
def managed() -> Iterator[list[Managed]]:
    """Stops (SIGTERM, then SIGKILL) every process put in the list, whatever happens."""
    started: list[Managed] = []
    try:
        yield started
    finally:
        for item in started:
            item.stop()


async def wait_http(url: str, within: float = 30.0, *, process: Managed | None = None) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process is not None and not process.alive:
                tail = process.log.read_text(errors="replace")[-2000:]
                raise AssertionError(f"{process.name} exited while starting:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                await client.get(url)
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@dataclass
class Receiver:
    """A merchant's notification endpoint: counts deliveries per order and acknowledges."""

    received: Counter[str] = field(default_factory=Counter)  # merchant_order_sn -> deliveries
    kinds: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: Request) -> PlainTextResponse:
        form = parse_qs((await request.body()).decode())
        data = json.loads(form["data"][0])
        key = str(data.get("merchant_order_sn"))
        if "refund_sn" in data:
            self.kinds[f"refund:{data['refund_sn']}"] += 1
        else:
            self.received[key] += 1
        return PlainTextResponse("success")


@contextlib.asynccontextmanager
async def serve_receiver(receiver: Receiver) -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/notify", receiver.handle, methods=["POST"])])
    async with serve_asgi(app) as url:
        yield f"{url}/notify"


serve_app = serve_asgi  # any ASGI app on a loopback port, with its lifespan
