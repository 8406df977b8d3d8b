"""The service's payment-code flow (scene barcode) over a scripted channel, on both databases:
paid at once, confirmed while the gateway waits, abandoned and reversed, declined, reversed by
the merchant, finished by maintenance after a restart. (The same flow against the WeChat
simulator runs in the integration suite.)"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jubao.channels.base import (
    ChannelBinding,
    ChannelTransaction,
    ImmediateOutcome,
    PaymentInstruction,
    PaymentRequest,
    TradeStatus,
)
from jubao.config import Settings
from jubao.errors import BusinessRuleError, ChannelError, ChannelErrorKind
from jubao.kinds import ChannelName, Scene
from jubao.merchants.models import App
from jubao.money import Fen
from jubao.payments.records import OrderRecord
from jubao.payments.requests import CreateOrder
from jubao.payments.states import OrderState
from jubao.protocol.methods import OrderRef
from jubao.runtime import Runtime, build_runtime
from tests.console.support import FakeChannel
from tests.support.waiting import eventually


class TillChannel(FakeChannel):
    """A channel whose payers behave by the code's last four digits, like the simulators'."""

    def __init__(self) -> None:
        super().__init__()
        self.trades: dict[str, ChannelTransaction] = {}
        self.reversed: list[str] = []
        self.confirm: set[str] = set()  # out_trade_no whose payer confirms on the next query
        self.submitted: list[str] = []  # every payment code sent, in order

    def supports(self, scene: Scene) -> bool:
        return scene in (Scene.MINA, Scene.BARCODE)

    def _paid(self, request: PaymentRequest) -> ChannelTransaction:
        return ChannelTransaction(
            request.out_trade_no, TradeStatus.PAID, request.total_fen, f"42{request.out_trade_no}",
            datetime.now(UTC), "oTill", "SUCCESS",
        )  # fmt: skip

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        if request.scene != Scene.BARCODE:
            return await super().create_payment(request)
        assert request.auth_code is not None
        self.submitted.append(request.auth_code)
        ending = request.auth_code[-4:]
        if ending == "2222":
            raise ChannelError(
                "余额不足", sub_code="NOT_ENOUGH", kind=ChannelErrorKind.INSUFFICIENT_FUNDS
            )
        if ending in ("1111", "4444"):
            waiting = ChannelTransaction(
                request.out_trade_no, TradeStatus.PENDING, raw_state="USERPAYING"
            )
            self.trades[request.out_trade_no] = dataclasses.replace(
                self._paid(request), status=TradeStatus.PENDING, raw_state="USERPAYING"
            )
            return ImmediateOutcome(waiting)
        paid = self._paid(request)
        self.trades[request.out_trade_no] = paid
        return ImmediateOutcome(paid)

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        trade = self.trades[out_trade_no]
        if out_trade_no in self.confirm and trade.status is TradeStatus.PENDING:
            trade = dataclasses.replace(trade, status=TradeStatus.PAID, raw_state="SUCCESS")
            self.trades[out_trade_no] = trade
        return trade

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        self.reversed.append(out_trade_no)
        trade = self.trades[out_trade_no]
        self.trades[out_trade_no] = dataclasses.replace(
            trade, status=TradeStatus.REVOKED, raw_state="REVOKED"
        )


@dataclasses.dataclass
class Till:
    runtime: Runtime
    channel: TillChannel
    app: App
    store_id: int

    async def swipe(self, merchant_order_sn: str, code: str, fen: int = 100) -> OrderRecord:
        request = CreateOrder(
            ChannelName.WECHATPAY, Scene.BARCODE, merchant_order_sn, Fen(fen), self.store_id,
            fingerprint=f"{fen}{code}", auth_code=code,
        )  # fmt: skip
        return await self.runtime.payments.create(self.app, request)

    async def state(self, merchant_order_sn: str) -> OrderState:
        order = await self.runtime.payments.query(self.app, OrderRef(merchant_order_sn))
        return order.state


async def open_till(database_url: str, data_dir: Path, **settings: float) -> Till:
    values: dict[str, Any] = {"barcode_pay_timeout_seconds": 0.6, "barcode_poll_seconds": 0.05,
              "reconcile_after_seconds": 0.0} | settings  # fmt: skip
    config = dataclasses.replace(
        Settings.from_env(env={}, data_dir=data_dir, database_url=database_url), **values
    )
    channel = TillChannel()
    runtime = await build_runtime(config, channel, maintenance=False)
    merchant = await runtime.merchants.create_merchant("便利店", "1900000001", "wx0123456789")
    new_app = await runtime.merchants.create_app(merchant.merchant_id)
    store = await runtime.merchants.create_store(merchant.merchant_id, "一号店")
    return Till(runtime, channel, new_app.app, store.store_id)


@pytest.fixture
async def till(database_url: str, tmp_path: Path) -> AsyncIterator[Till]:
    opened = await open_till(database_url, tmp_path)
    try:
        yield opened
    finally:
        await opened.runtime.stop()


async def test_a_code_paid_at_once_is_paid_and_replays(till: Till) -> None:
    order = await till.swipe("till-1", "134567890123450000")
    assert order.state == OrderState.SUCCESS
    again = await till.swipe("till-1", "134567890123450000")
    assert again == order
    assert len(till.channel.trades) == 1  # the identical retry charged nobody again
    assert till.channel.submitted == ["134567890123450000"]  # nor sent the code twice


async def test_a_payer_who_confirms_while_the_gateway_waits(till: Till) -> None:
    order = await till.swipe("till-2", "134567890123451111")
    assert order.state == OrderState.USERPAYING
    till.channel.confirm.add(order.order_sn)

    async def paid() -> bool:
        return await till.state("till-2") == OrderState.SUCCESS

    await eventually(paid, within=5)
    assert till.channel.reversed == []


async def test_a_payer_who_walks_away_is_reversed(till: Till) -> None:
    order = await till.swipe("till-3", "134567890123454444")
    assert order.state == OrderState.USERPAYING

    async def revoked() -> bool:
        return await till.state("till-3") == OrderState.REVOKED

    await eventually(revoked, within=5)
    assert till.channel.reversed == [order.order_sn]


async def test_a_declined_code_closes_the_order_and_replays_the_refusal(till: Till) -> None:
    for _ in range(2):
        with pytest.raises(BusinessRuleError) as caught:
            await till.swipe("till-4", "134567890123452222")
        assert caught.value.sub_code == "BALANCE_NOT_ENOUGH"
        assert "余额不足" in caught.value.message
    assert await till.state("till-4") == OrderState.CLOSED
    assert till.channel.submitted == ["134567890123452222"]  # the replay asked no channel


async def test_the_merchant_reverses_a_paid_code(till: Till) -> None:
    await till.swipe("till-5", "134567890123450000")
    reversed_ = await till.runtime.payments.reverse(till.app, OrderRef("till-5"))
    assert reversed_.state == OrderState.REVOKED
    again = await till.runtime.payments.reverse(till.app, OrderRef("till-5"))
    assert again.state == OrderState.REVOKED and len(till.channel.reversed) == 1


async def test_only_payment_codes_reverse_and_they_do_not_close(till: Till) -> None:
    mina = CreateOrder(
        ChannelName.WECHATPAY, Scene.MINA, "mina-1", Fen(100), till.store_id,
        fingerprint="m", payer_id="oPayer",
    )  # fmt: skip
    await till.runtime.payments.create(till.app, mina)
    with pytest.raises(BusinessRuleError) as caught:
        await till.runtime.payments.reverse(till.app, OrderRef("mina-1"))
    assert caught.value.sub_code == "REVERSE_NOT_SUPPORTED"
    await till.swipe("till-6", "134567890123451111")
    with pytest.raises(BusinessRuleError) as closing:
        await till.runtime.payments.close(till.app, OrderRef("till-6"))
    assert closing.value.sub_code == "CLOSE_NOT_SUPPORTED"


async def test_maintenance_finishes_an_abandoned_code_after_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    first = await open_till(database_url, tmp_path, barcode_pay_timeout_seconds=30.0)
    order = await first.swipe("till-7", "134567890123454444")
    trades = first.channel.trades
    await first.runtime.stop()  # the waiter dies with the process

    second = await open_till(database_url, tmp_path, barcode_pay_timeout_seconds=0.0)
    try:
        second.channel.trades = trades  # the same channel, seen from the new process
        assert await second.runtime.payments.settle_payment_codes() == 1
        current = await second.runtime.payments.query(first.app, OrderRef("till-7"))
        assert current.state == OrderState.REVOKED
        assert second.channel.reversed == [order.order_sn]
    finally:
        await second.runtime.stop()
