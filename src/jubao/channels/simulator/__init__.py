"""A WeChat Pay API v3 simulator for service-provider (partner) mode, speaking the real wire
format: signed requests verified, answers and notifications signed, notifications encrypted with
AES-256-GCM and retried on WeChat's schedule. Independent of ``jubao.channels.wechatpay`` by design.

    sim = Simulator(SimulatorConfig(data_dir=..., merchants=[SpMerchant(...)]))
    app = create_simulator_app(sim)   # mount it; call sim.start()/sim.stop() from the host

See ``docs/simulator.md`` for every endpoint and the behaviours chosen."""

from __future__ import annotations

from jubao.channels.simulator.app import create_simulator_app
from jubao.channels.simulator.config import DEFAULT_NOTIFY_SCHEDULE, SimulatorConfig, SpMerchant
from jubao.channels.simulator.controls import Behaviour
from jubao.channels.simulator.simulator import Simulator

__all__ = [
    "DEFAULT_NOTIFY_SCHEDULE",
    "Behaviour",
    "Simulator",
    "SimulatorConfig",
    "SpMerchant",
    "create_simulator_app",
]
