"""The two words every layer shares: which channel carries a payment, and in which scene.

At the bottom of the import graph (beside ``money``): the wire protocol, the channels, storage and
the service all speak them, and none of those may import another for it.
"""

from __future__ import annotations

import enum

__all__ = ["ApiVersion", "ChannelName", "Scene"]


class ChannelName(enum.StrEnum):
    """An upstream payment channel, as stored in ``orders.channel``."""

    WECHATPAY = "wechatpay"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"  # reserved: recognised in payment codes, no channel yet

    @property
    def fubei_type(self) -> int:
        """Fubei 1.0's numeric ``type`` (reference 7.1): 1 WeChat, 2 Alipay, 5 UnionPay."""
        return {ChannelName.WECHATPAY: 1, ChannelName.ALIPAY: 2, ChannelName.UNIONPAY: 5}[self]


class Scene(enum.StrEnum):
    """How the payer meets the payment, as stored in ``orders.scene``."""

    MINA = "mina"  # a mini-program calls the wallet (wx.requestPayment)
    JSAPI = "jsapi"  # a page inside the wallet's browser (official account, Alipay life account)
    NATIVE = "native"  # the customer scans a QR code the merchant shows
    BARCODE = "barcode"  # the cashier scans the customer's payment code at the till
    H5 = "h5"  # a mobile browser outside the wallet is sent to the channel's page


class ApiVersion(enum.StrEnum):
    """The Open API generation an order was created through, as stored in ``orders.api_version``:
    its notifications take that generation's layout."""

    V1 = "1.0"  # POST /gateway, openapi.payment.*
    V2 = "2.0"  # POST /gateway/agent, fbpay.*
