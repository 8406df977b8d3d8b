from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

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


@pytest.fixture
async def world() -> AsyncIterator[World]:
    receiver = Receiver()
    clock = FakeClock()
    sim = make_simulator(receiver, clock=clock)
    await sim.start()
    transport = httpx.ASGITransport(app=host_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        yield World(sim, Merchant(http, clock), receiver, clock, http)
    await sim.stop()
