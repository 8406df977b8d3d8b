"""A scan order's QR code as an image for its detail page (rendered with ``segno``)."""

from __future__ import annotations

from jubao.channels.base import QrContent
from jubao.kinds import Scene
from jubao.payments import instructions
from jubao.storage.sql import Row

__all__ = ["qr_image"]


def qr_image(order: Row) -> str | None:
    """An ``data:image/svg+xml`` URI of the QR code a native order shows its customer, or
    ``None`` for other orders (and before the channel answered)."""
    if order.get("scene") != Scene.NATIVE.value or not order.get("instruction"):
        return None
    try:
        content = instructions.decode(order["instruction"], order.get("prepay_id"))
    except ValueError:
        return None
    if not isinstance(content, QrContent):
        return None
    import segno  # a server dependency, needed only here

    return str(segno.make(content.code, error="m").svg_data_uri(scale=5, border=2))
