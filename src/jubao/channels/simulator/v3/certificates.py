"""``GET /v3/certificates``: the platform certificates, each encrypted with the calling provider's
APIv3 key (``AEAD_AES_256_GCM``, associated data ``certificate``), as WeChat serves them to
merchants in platform-certificate mode (reference §7). Certificates not yet in effect are listed
too: WeChat publishes a new certificate before it signs with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jubao.channels.simulator.v3.call import Answer, Call

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["handle_certificates"]


def handle_certificates(sim: Simulator, call: Call) -> Answer:
    found = sim.merchant(call.mchid)
    assert found is not None  # the signer is a known provider
    apiv3_key = found[0].apiv3_key
    return 200, {"data": [item.listing(apiv3_key) for item in sim.certificates.listed()]}
