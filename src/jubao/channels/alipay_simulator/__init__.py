"""An Alipay OpenAPI (``gateway.do``) simulator speaking the real wire format: RSA2-verified
requests, signed ``*_response`` answers, the trade state machine, refunds, bills, signed
notifications retried on Alipay's schedule, and test payers. Independent of
``jubao.channels.alipay`` by design (a test checks that neither imports the other).

    sim = AlipaySimulator(AlipaySimulatorConfig(data_dir=..., app_id=..., app_public_key=...,
                                                alipay_private_key=...))
    app = create_alipay_simulator_app(sim)   # POST <root>/gateway.do

See ``docs/alipay-simulator.md``."""

from __future__ import annotations

from jubao.channels.alipay_simulator.app import create_alipay_simulator_app
from jubao.channels.alipay_simulator.config import (
    DEFAULT_NOTIFY_SCHEDULE,
    AlipayMerchant,
    AlipaySimulatorConfig,
)
from jubao.channels.alipay_simulator.keys import AlipaySandboxKeys, generate_sandbox_keys
from jubao.channels.alipay_simulator.simulator import AlipaySimulator

__all__ = [
    "DEFAULT_NOTIFY_SCHEDULE",
    "AlipayMerchant",
    "AlipaySandboxKeys",
    "AlipaySimulator",
    "AlipaySimulatorConfig",
    "create_alipay_simulator_app",
    "generate_sandbox_keys",
]
