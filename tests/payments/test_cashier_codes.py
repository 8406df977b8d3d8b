"""Cashier codes (聚合码) over scripted channels, on both databases: a code replays or conflicts
like an order, the first wallet to open it creates the one order behind it (under the code's
reserved order_sn and expiry), reloads and the other wallet get that same order, concurrent
openings make one order, and a code is expired or paid as its order says."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from jubao.channels.base import (
    ChannelTradeNo,
    ChannelTransaction,
    PaymentInstruction,
    PaymentRequest,
    TradeStatus,
    TransactionEvent,
)
from jubao.clock import system_clock
from jubao.config import Settings
from jubao.errors import BusinessRuleError, InvalidParameter
from jubao.kinds import ChannelName, Scene
from jubao.merchants.models import App, MerchantChannel
from jubao.money import Fen
from jubao.payments import instructions
from jubao.payments import repository as repo
from jubao.payments.cashier_codes import (
    CashierCodeRequest,
    CashierCodes,
    CodeState,
    cashier_codes_for,
)
from jubao.payments.requests import CreateOrder
from jubao.payments.states import OrderState
from jubao.runtime import Runtime, build_runtime
from jubao.storage.sql import Tx, fetch_all
from tests.console.support import FakeChannel


class WalletChannel(FakeChannel):
    """A JSAPI channel: WeChat answers a wallet package, Alipay a trade number."""

    def __init__(self, name: ChannelName) -> None:
        super().__init__()
        self.name = name
        self.requests: list[PaymentRequest] = []

    def supports(self, scene: Scene) -> bool:
        return scene in (Scene.MINA, Scene.JSAPI)

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        self.requests.append(request)
        await asyncio.sleep(0.01)  # a moment upstream, so concurrent openings overlap
        if self.name == ChannelName.ALIPAY:
            return ChannelTradeNo(f"2026{request.out_trade_no}")
        return await super().create_payment(request)


@dataclass
class World:
    runtime: Runtime
    codes: CashierCodes
    app: App
    store_id: int
    wechat: WalletChannel
    alipay: WalletChannel

    def request(self, sn: str, fen: int = 1234, **changes: object) -> CashierCodeRequest:
        base = CashierCodeRequest(sn, Fen(fen), self.store_id, body="咖啡", notify_url=None)
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings.from_env(env={}, data_dir=tmp_path, database_url=database_url)
    wechat, alipay = WalletChannel(ChannelName.WECHATPAY), WalletChannel(ChannelName.ALIPAY)
    runtime = await build_runtime(settings, wechat, alipay, maintenance=False)
    directory = runtime.merchants
    merchant = await directory.create_merchant("咖啡馆", "1900000001", "wxmina0000000001")
    await directory.bind_channel(
        merchant.merchant_id,
        MerchantChannel(ChannelName.WECHATPAY, "1900000001", "wxmina0000000001", "wxoa00000001"),
    )
    await directory.bind_channel(
        merchant.merchant_id,
        MerchantChannel(ChannelName.ALIPAY, "2088000000000101", auth_token="token-1"),
    )
    new_app = await directory.create_app(merchant.merchant_id)
    store = await directory.create_store(merchant.merchant_id, "一号店")
    app = await directory.app(new_app.app.app_id)
    assert app is not None
    try:
        yield World(
            runtime, cashier_codes_for(runtime.payments), app, store.store_id, wechat, alipay
        )
    finally:
        await runtime.stop()


def _orders(merchant_order_sn: str) -> Tx[list[str]]:
    rows = (
        yield fetch_all(
            "SELECT order_sn FROM orders WHERE merchant_order_sn = ?", merchant_order_sn
        )
    ).rows
    return [row["order_sn"] for row in rows]


async def test_a_code_replays_and_conflicts_like_an_order(world: World) -> None:
    code = await world.codes.create(world.app, world.request("c-1"))
    assert len(code.token) >= 24 and code.order_id is None
    assert (code.app_id, code.vendor_sn) == (world.app.app_id, None)
    assert code.expire_at - code.created_at == 600_000  # expired_time defaults to 600 s
    again = await world.codes.create(world.app, world.request("c-1"))
    assert again == code
    with pytest.raises(BusinessRuleError) as conflict:
        await world.codes.create(world.app, world.request("c-1", fen=1235))
    assert conflict.value.sub_code == "ORDER_SN_CONFLICT"
    other = await world.codes.create(world.app, world.request("c-2"))
    assert other.token != code.token and other.order_sn != code.order_sn


async def test_a_code_is_refused_for_a_wrong_store_expiry_or_a_used_order_sn(
    world: World,
) -> None:
    with pytest.raises(BusinessRuleError) as store:
        await world.codes.create(world.app, world.request("c-3", store_id=999_999))
    assert store.value.sub_code == "STORE_NOT_FOUND"
    with pytest.raises(BusinessRuleError) as cashier:
        await world.codes.create(world.app, world.request("c-3", cashier_id=999_999))
    assert cashier.value.sub_code == "CASHIER_NOT_FOUND"
    for seconds in (59, 86_401):
        with pytest.raises(InvalidParameter) as expiry:
            await world.codes.create(world.app, world.request("c-3", expire_seconds=seconds))
        assert "expired_time" in expiry.value.message
    order = CreateOrder(
        ChannelName.WECHATPAY, Scene.MINA, "c-4", Fen(100), world.store_id, "f", payer_id="o"
    )
    await world.runtime.payments.create(world.app, order)
    with pytest.raises(BusinessRuleError) as taken:
        await world.codes.create(world.app, world.request("c-4"))
    assert taken.value.sub_code == "ORDER_SN_CONFLICT"


async def test_a_code_and_an_order_refuse_anothers_store_or_cashier_alike(world: World) -> None:
    directory = world.runtime.merchants
    other = await directory.create_merchant("别家", "1900000002", "wxmina0000000002")
    other_store = (await directory.create_store(other.merchant_id, "别家门店")).store_id
    own_second = await directory.create_store(world.app.merchant.merchant_id, "二号店")
    elsewhere = (await directory.create_cashier(own_second.store_id, "二号店收银员")).cashier_id
    order = CreateOrder(
        ChannelName.WECHATPAY, Scene.MINA, "c-9", Fen(100), world.store_id, "f", payer_id="o"
    )
    for store_id, cashier_id, sub_code, message in (
        (other_store, None, "STORE_NOT_FOUND", f"门店 store_id={other_store} 不存在"),
        (
            world.store_id,
            elsewhere,
            "CASHIER_NOT_FOUND",
            f"收银员 cashier_id={elsewhere} 不存在或不属于门店 {world.store_id}",
        ),
    ):
        with pytest.raises(BusinessRuleError) as code:
            await world.codes.create(
                world.app, world.request("c-9", store_id=store_id, cashier_id=cashier_id)
            )
        with pytest.raises(BusinessRuleError) as placed:
            await world.runtime.payments.create(
                world.app, dataclasses.replace(order, store_id=store_id, cashier_id=cashier_id)
            )
        refusal = (code.value.sub_code, code.value.message)
        assert refusal == (placed.value.sub_code, placed.value.message)
        assert refusal[0] == sub_code and message in refusal[1], refusal


async def test_the_first_wallet_creates_the_one_order(world: World) -> None:
    code = await world.codes.create(world.app, world.request("c-5", expire_seconds=120))
    assert await world.codes.order_of(code) is None
    order = await world.codes.open(code, ChannelName.WECHATPAY, "oPayer1")
    assert (order.order_sn, order.merchant_order_sn) == (code.order_sn, "c-5")
    assert (order.channel, order.scene, order.payer_id) == (
        ChannelName.WECHATPAY, Scene.JSAPI, "oPayer1",
    )  # fmt: skip
    assert order.total_fen == 1234 and order.body == "咖啡" and order.store_id == world.store_id
    assert order.expire_at == code.expire_at  # the order lives as long as the code
    assert world.wechat.requests[-1].binding.app_id == "wxoa00000001"  # the official account
    reloaded = await world.codes.find(code.token)
    assert reloaded is not None and reloaded.order_id == order.order_id
    # a reload, by anyone, and the other wallet: the same order, no second channel request
    assert await world.codes.open(reloaded, ChannelName.WECHATPAY, "oSomeoneElse") == order
    assert await world.codes.open(reloaded, ChannelName.ALIPAY, "2088000000000042") == order
    assert len(world.wechat.requests) == 1 and world.alipay.requests == []
    assert await world.runtime.db.read(partial(_orders, "c-5")) == [order.order_sn]


async def test_alipay_opens_an_alipay_jsapi_order(world: World) -> None:
    code = await world.codes.create(world.app, world.request("c-6"))
    order = await world.codes.open(code, ChannelName.ALIPAY, "2088000000000042")
    assert (order.channel, order.scene, order.payer_id) == (
        ChannelName.ALIPAY, Scene.JSAPI, "2088000000000042",
    )  # fmt: skip
    assert order.instruction is not None
    trade = instructions.decode(order.instruction, order.prepay_id)
    assert trade == ChannelTradeNo(f"2026{order.order_sn}")


async def test_concurrent_openings_by_both_wallets_make_one_order(world: World) -> None:
    code = await world.codes.create(world.app, world.request("c-7"))
    wallets = [ChannelName.WECHATPAY, ChannelName.ALIPAY] * 4
    opened = await asyncio.gather(
        *(world.codes.open(code, wallet, f"payer-{i}") for i, wallet in enumerate(wallets))
    )
    assert len({order.order_id for order in opened}) == 1
    assert await world.runtime.db.read(partial(_orders, "c-7")) == [code.order_sn]


async def test_a_code_expires_and_is_paid_as_its_order_says(world: World) -> None:
    code = await world.codes.create(world.app, world.request("c-8", expire_seconds=60))
    assert world.codes.state(code, None) == CodeState.OPEN
    later = CashierCodes(
        world.runtime.db, world.runtime.payments, clock=lambda: system_clock() + 61_000
    )
    assert later.state(code, None) == CodeState.EXPIRED
    order = await world.codes.open(code, ChannelName.WECHATPAY, "oPayer")
    assert world.codes.state(code, order) == CodeState.OPEN
    paid = ChannelTransaction(
        order.order_sn, TradeStatus.PAID, order.total_fen, "4200", datetime.now(UTC), "oPayer"
    )
    await world.runtime.payments.handle_channel_event(
        ChannelName.WECHATPAY, TransactionEvent("evt", paid)
    )
    stored = await world.codes.order_of(code)
    assert stored is not None and stored.state == OrderState.SUCCESS
    assert world.codes.state(code, stored) == CodeState.PAID
    assert later.state(code, stored) == CodeState.PAID  # paid stays paid after the expiry
    closed = await world.runtime.db.write(
        partial(repo.close_order, stored.order_id, "test", system_clock())
    )
    assert closed.state == OrderState.SUCCESS  # a paid order does not close
