from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from jubao.channels.simulator import Simulator
from tests.simulator.support import FakeClock, Merchant, Receiver, host_app, make_simulator


@dataclass
class World:
    sim: Simulator
    merchant: Merchant
    receiver: Receiver
    clock: FakeClock
    http: httpx.AsyncClient


async def open_world(data_dir: Path | None = None, **config: Any) -> AsyncIterator[World]:
    """A started simulator with a signing merchant client; ``config`` overrides its settings."""
    receiver, clock = Receiver(), FakeClock()
    sim = make_simulator(receiver, data_dir=data_dir, clock=clock, **config)
    await sim.start()
    transport = httpx.ASGITransport(app=host_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        yield World(sim, Merchant(http, clock), receiver, clock, http)
    await sim.stop()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async for opened in open_world():
        yield opened
