"""Merchant-side value types."""

from __future__ import annotations

from dataclasses import dataclass, field

from jubao.channels.base import ChannelBinding

__all__ = ["App", "Cashier", "Merchant", "Store"]


@dataclass(frozen=True, slots=True)
class Merchant:
    merchant_id: int
    name: str
    sub_mchid: str
    sub_appid: str

    @property
    def binding(self) -> ChannelBinding:
        return ChannelBinding(sub_mchid=self.sub_mchid, sub_appid=self.sub_appid)


@dataclass(frozen=True, slots=True)
class App:
    app_id: str
    merchant: Merchant
    app_secret: str = field(repr=False)
    callback_url: str | None = None
    strict_nonce: bool = False  # refuse a nonce reused within 24 h (security/replay.py)


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
