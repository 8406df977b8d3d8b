"""Orders and refunds as the repository returns them: frozen, typed, amounts in ``Fen``.

``from_row`` is the one place a database row becomes a record, so a renamed column or a new state
fails here (and in mypy), not in a view three layers up.

Records are ``NamedTuple``s, not frozen dataclasses: a frozen dataclass sets each of an order's 30
fields through ``object.__setattr__``, 11 of the 18 us ``from_row`` took, a tuple is built in one
call (docs/benchmarks.md, round six). Change one with ``_replace``.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple, TypeVar

from jubao.channels.base import ChannelBinding
from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.money import Fen
from jubao.payments.states import OrderState, RefundState
from jubao.storage.sql import Row

__all__ = ["OrderRecord", "RefundRecord"]


E = TypeVar("E", bound=enum.Enum)


def _members(kind: type[E]) -> dict[Any, E]:
    return {member.value: member for member in kind}


def _member(members: dict[Any, E], kind: type[E], value: Any) -> E:
    """``kind(value)`` by a dict lookup: ``Enum.__call__`` costs ~0.35 µs, four per order row
    read; an unknown value still raises as ``kind(value)`` does."""
    found = members.get(value)
    return found if found is not None else kind(value)


_CHANNELS = _members(ChannelName)
_SCENES = _members(Scene)
_STATES = _members(OrderState)
_VERSIONS = _members(ApiVersion)


class OrderRecord(NamedTuple):
    order_id: int
    order_sn: str
    merchant_id: int
    app_id: str
    merchant_order_sn: str
    fingerprint: str
    store_id: int
    cashier_id: int  # 0: none
    channel: ChannelName
    scene: Scene
    channel_merchant_id: str
    channel_app_id: str | None
    payer_id: str | None
    total_fen: Fen
    body: str | None
    attach: str | None
    call_back_url: str | None
    state: OrderState
    prepay_id: str | None
    prepay_expires_at: int | None
    instruction: str | None  # JSON, see payments.instructions
    channel_trade_no: str | None
    paid_at: int | None
    refunded_fen: Fen
    refund_count: int
    expire_at: int
    created_at: int
    updated_at: int
    api_version: ApiVersion = ApiVersion.V1
    vendor_sn: str | None = None  # the vendor that created it (its secret signs notifications)

    @classmethod
    def from_row(cls, row: Row) -> OrderRecord:
        return cls(
            order_id=int(row["order_id"]),
            order_sn=row["order_sn"],
            merchant_id=int(row["merchant_id"]),
            app_id=row["app_id"],
            merchant_order_sn=row["merchant_order_sn"],
            fingerprint=row["fingerprint"],
            store_id=int(row["store_id"]),
            cashier_id=int(row["cashier_id"] or 0),
            channel=_member(_CHANNELS, ChannelName, row["channel"]),
            scene=_member(_SCENES, Scene, row["scene"]),
            channel_merchant_id=row["channel_merchant_id"],
            channel_app_id=row["channel_app_id"],
            payer_id=row["payer_id"],
            total_fen=Fen(int(row["total_fen"])),
            body=row["body"],
            attach=row["attach"],
            call_back_url=row["call_back_url"],
            state=_member(_STATES, OrderState, row["state"]),
            prepay_id=row["prepay_id"],
            prepay_expires_at=_optional_int(row["prepay_expires_at"]),
            instruction=row["instruction"],
            channel_trade_no=row["channel_trade_no"],
            paid_at=_optional_int(row["paid_at"]),
            refunded_fen=Fen(int(row["refunded_fen"])),
            refund_count=int(row["refund_count"]),
            expire_at=int(row["expire_at"]),
            created_at=int(row["created_at"]),
            updated_at=int(row["updated_at"]),
            api_version=_member(_VERSIONS, ApiVersion, row["api_version"]),
            vendor_sn=row["vendor_sn"],
        )

    @property
    def binding(self) -> ChannelBinding:
        """The merchant's identity at the channel as it was when the order was created (the
        channel's credential, if it needs one, comes from the merchant's current binding)."""
        return ChannelBinding(self.channel, self.channel_merchant_id, self.channel_app_id)

    @property
    def refundable_fen(self) -> Fen:
        if self.state != OrderState.SUCCESS:
            return Fen(0)
        return Fen(self.total_fen - self.refunded_fen)


class RefundRecord(NamedTuple):
    refund_id: int
    refund_sn: str
    order_id: int
    merchant_refund_sn: str
    refund_fen: Fen
    status: RefundState
    channel_refund_id: str | None
    submitted: bool
    finished_at: int | None
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Row) -> RefundRecord:
        return cls(
            refund_id=int(row["refund_id"]),
            refund_sn=row["refund_sn"],
            order_id=int(row["order_id"]),
            merchant_refund_sn=row["merchant_refund_sn"],
            refund_fen=Fen(int(row["refund_fen"])),
            status=RefundState(row["status"]),
            channel_refund_id=row["channel_refund_id"],
            submitted=bool(row["submitted"]),
            finished_at=_optional_int(row["finished_at"]),
            created_at=int(row["created_at"]),
            updated_at=int(row["updated_at"]),
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
