"""What the service is asked to do, in channel-neutral terms. The method table of each API version
turns its own wire request into one of these (``web/methods_v1.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.money import Fen
from jubao.protocol.methods import SceneOrder

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
    # a cashier code (``payments.cashier_codes``) reserves the order's number and sets its expiry
    order_sn: str | None = None
    expire_at: int | None = None  # epoch ms; default: now + ``order_expire_seconds``

    @classmethod
    def of(
        cls,
        order: SceneOrder,
        channel: ChannelName,
        scene: Scene,
        fingerprint: str,
        **extra: Any,
    ) -> CreateOrder:
        """The order's common fields (both API generations parse them into a ``SceneOrder``);
        ``extra`` is what the scene adds (payer, payment code, return page, API generation)."""
        return cls(
            channel=channel,
            scene=scene,
            merchant_order_sn=order.merchant_order_sn,
            total_fen=order.total_fen,
            store_id=order.store_id,
            fingerprint=fingerprint,
            cashier_id=order.cashier_id,
            call_back_url=order.call_back_url,
            body=order.body,
            attach=order.attach,
            **extra,
        )
