"""Merchant-side value types."""

from __future__ import annotations

from dataclasses import dataclass, field

from jubao.channels.base import ChannelBinding
from jubao.kinds import ChannelName, Scene

__all__ = [
    "App",
    "Caller",
    "Cashier",
    "Merchant",
    "MerchantChannel",
    "Store",
    "Vendor",
    "VendorAct",
]


@dataclass(frozen=True, slots=True)
class MerchantChannel:
    """A merchant's binding at one channel (a row of ``merchant_channels``).

    WeChat: ``channel_merchant_id`` is the sub_mchid, with the sub_appid of the merchant's
    mini-program and of its official account. Alipay: the merchant's pid and its
    ``app_auth_token``.
    """

    channel: ChannelName
    channel_merchant_id: str
    mina_app_id: str | None = None
    jsapi_app_id: str | None = None
    auth_token: str | None = field(default=None, repr=False)

    def app_id_for(self, scene: Scene) -> str | None:
        """The merchant's app the scene runs in: the official account's for a page in the
        wallet, the mini-program's otherwise (either, where the scene needs none)."""
        if scene == Scene.JSAPI:
            return self.jsapi_app_id
        if scene == Scene.MINA:
            return self.mina_app_id
        return self.mina_app_id or self.jsapi_app_id

    def binding(self, scene: Scene) -> ChannelBinding:
        return ChannelBinding(
            self.channel, self.channel_merchant_id, self.app_id_for(scene), self.auth_token
        )


@dataclass(frozen=True, slots=True)
class Merchant:
    merchant_id: int
    name: str
    channels: tuple[MerchantChannel, ...] = ()
    vendor_sn: str | None = None  # the service provider (2.0) the merchant belongs to

    def channel(self, name: ChannelName) -> MerchantChannel | None:
        return next((c for c in self.channels if c.channel == name), None)

    @property
    def sub_mchid(self) -> str:
        """WeChat's sub_mchid, for listings ('' when the merchant has no WeChat binding)."""
        wechat = self.channel(ChannelName.WECHATPAY)
        return wechat.channel_merchant_id if wechat else ""

    @property
    def sub_appid(self) -> str:
        """WeChat's mini-program sub_appid, for listings."""
        wechat = self.channel(ChannelName.WECHATPAY)
        return (wechat.mina_app_id or "") if wechat else ""


@dataclass(frozen=True, slots=True)
class App:
    app_id: str
    merchant: Merchant
    app_secret: str = field(repr=False)
    callback_url: str | None = None
    strict_nonce: bool = False  # refuse a nonce reused within 24 h (security/replay.py)
    refund_notify: bool = False  # refund results are notified to the callback too (opt-in)


@dataclass(frozen=True, slots=True)
class Vendor:
    """A service provider (服务商): signs Open API 2.0 requests for its own merchants."""

    vendor_sn: str
    name: str
    vendor_secret: str = field(repr=False)
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class VendorAct:
    """A vendor acting for one of its merchants (the ``merchant_id`` of a 2.0 request)."""

    vendor: Vendor
    merchant: Merchant


# Who is calling a use case: a merchant's app (1.0, or 2.0 at merchant level), or a vendor for
# one of its merchants. Both name the merchant; the credential decides who signs its notifications.
Caller = App | VendorAct


@dataclass(frozen=True, slots=True)
class Store:
    store_id: int
    merchant_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Cashier:
    cashier_id: int
    store_id: int
    name: str
