"""What the service is asked to do, in channel-neutral terms. The method table of each API version
turns its own wire request into one of these (``web/methods_v1.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.money import Fen

__all__ = ["CreateOrder"]


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """Create (or replay) an order. ``fingerprint`` is what must match for a second request with
    the same ``merchant_order_sn`` to count as the same order (each method decides its fields)."""

    channel: ChannelName
    scene: Scene
    merchant_order_sn: str
    total_fen: Fen
    store_id: int
    fingerprint: str
    cashier_id: int | None = None
    payer_id: str | None = None
    auth_code: str | None = field(default=None, repr=False)
    call_back_url: str | None = None
    body: str | None = None
    attach: str | None = None
    return_url: str | None = None  # a page scene (H5): where the payer's browser returns
    api: ApiVersion = ApiVersion.V1  # the generation asking: its notifications take its layout
