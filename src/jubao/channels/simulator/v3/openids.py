"""The test payer's openid under an app: what scanning, paying by code and OAuth report."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["openid_for"]


def openid_for(sim: Simulator, appid: str) -> str:
    """Configured for the sandbox's apps; otherwise stable per (appid, payer): 28 characters
    starting with ``o``, like WeChat's."""
    configured = sim.payer_openids.get(appid)
    if configured:
        return configured
    digest = hashlib.sha256(f"{appid}/{sim.config.payer_name}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode("ascii")[:27]
