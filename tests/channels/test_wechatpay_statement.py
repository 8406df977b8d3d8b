"""``fetch_statement`` end to end: payments and refunds made through the channel at the simulator,
the day's trade bill applied for, downloaded, its SHA-1 checked and parsed back to the fen."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import httpx
import pytest

from jubao.channels.base import ImmediateOutcome, TradeStatus
from jubao.channels.simulator.ids import CHINA
from jubao.errors import ChannelError
from jubao.kinds import Scene
from tests.channels.simulated import BINDING, OTHER_BINDING, simulated
from tests.simulator.support import OTHER_SUB_MCHID, SUB_MCHID


async def test_the_days_lines_match_the_trades_to_the_fen() -> None:
    async with simulated(bill_ready_hour=None) as world:
        await world.pay("JB-STATEMENT-1", 1234)
        await world.pay("JB-STATEMENT-2", 1)
        await world.pay_by_qr("JB-STATEMENT-3", 99999, OTHER_BINDING)
        await world.refund("JB-STATEMENT-1", "JR-STATEMENT-1", 500, 1234)
        await world.refund("JB-STATEMENT-1", "JR-STATEMENT-2", 734, 1234)
        day = world.clock().astimezone(CHINA).date()

        lines = await world.channel.fetch_statement(day)

        payments = {line.out_trade_no: line for line in lines if not line.refund_fen}
        assert {no: line.total_fen for no, line in payments.items()} == {
            "JB-STATEMENT-1": 1234,
            "JB-STATEMENT-2": 1,
            "JB-STATEMENT-3": 99999,
        }
        for no, line in payments.items():
            binding = OTHER_BINDING if no == "JB-STATEMENT-3" else BINDING
            queried = await world.channel.query(binding, no)
            assert line.transaction_id == queried.transaction_id
            assert line.occurred_at == queried.success_time
            assert line.merchant_id == binding.merchant_id
        refunds = sorted(
            (line.out_trade_no, line.out_refund_no, line.refund_fen, line.merchant_id)
            for line in lines
            if line.refund_fen
        )
        assert refunds == [
            ("JB-STATEMENT-1", "JR-STATEMENT-1", 500, SUB_MCHID),
            ("JB-STATEMENT-1", "JR-STATEMENT-2", 734, SUB_MCHID),
        ]
        assert all(line.occurred_at is not None for line in lines)

        # One sub-merchant's bill holds its own lines only.
        own = await world.channel.fetch_statement(day, BINDING)
        assert sorted(line.out_trade_no for line in own if not line.refund_fen) == [
            "JB-STATEMENT-1",
            "JB-STATEMENT-2",
        ]
        assert len(own) == 4 and {line.merchant_id for line in own} == {SUB_MCHID}
        other = await world.channel.fetch_statement(day, OTHER_BINDING)
        assert [(line.out_trade_no, line.merchant_id) for line in other] == [
            ("JB-STATEMENT-3", OTHER_SUB_MCHID)
        ]


async def test_a_reversed_code_payment_is_a_payment_and_its_refund() -> None:
    async with simulated(bill_ready_hour=None) as world:
        request = world.payment(
            "JB-STATEMENT-8",
            250,
            scene=Scene.BARCODE,
            payer_id=None,
            auth_code="134567890123450000",
        )
        paid = await world.channel.create_payment(request)
        assert isinstance(paid, ImmediateOutcome) and paid.transaction.status is TradeStatus.PAID
        await world.channel.cancel(BINDING, "JB-STATEMENT-8")
        day = world.clock().astimezone(CHINA).date()
        lines = await world.channel.fetch_statement(day)
        assert [(line.total_fen, line.refund_fen, line.out_refund_no) for line in lines] == [
            (250, 0, None),
            (0, 250, "REVERSE-JB-STATEMENT-8"),
        ]


async def test_a_day_without_trades_is_an_empty_statement() -> None:
    async with simulated(bill_ready_hour=None) as world:
        day = world.clock().astimezone(CHINA).date()
        assert await world.channel.fetch_statement(day) == []  # WeChat: NO_STATEMENT_EXIST
        await world.pay_by_qr("JB-STATEMENT-4", 100, OTHER_BINDING)
        assert await world.channel.fetch_statement(day, BINDING) == []
        assert await world.channel.fetch_statement(day - timedelta(days=1)) == []
        assert len(await world.channel.fetch_statement(day)) == 1


async def test_a_bill_whose_sha1_differs_is_refused() -> None:
    def corrupt(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if not request.url.path.endswith("/v3/billdownload/file"):
            return response
        body = response.content.replace(b"`12.34", b"`21.34")
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    async with simulated(bill_ready_hour=None) as world:
        await world.pay("JB-STATEMENT-5", 1234)
        day = world.clock().astimezone(CHINA).date()
        world.transport.tamper = corrupt
        with pytest.raises(ChannelError) as caught:
            await world.channel.fetch_statement(day)
        assert caught.value.sub_code == "BILL_HASH_MISMATCH"
        world.transport.tamper = None
        assert [line.total_fen for line in await world.channel.fetch_statement(day)] == [1234]


async def test_a_day_not_yet_published() -> None:
    """WeChat publishes a day's bill the next morning (the simulator: from 09:00 China time)."""
    async with simulated() as world:
        await world.pay("JB-STATEMENT-6", 300)
        day = world.clock().astimezone(CHINA).date()
        with pytest.raises(ChannelError) as caught:
            await world.channel.fetch_statement(day)
        assert caught.value.sub_code == "STATEMENT_CREATING"
        world.clock.moment = datetime.combine(day + timedelta(days=1), time(9), CHINA)
        assert [line.total_fen for line in await world.channel.fetch_statement(day)] == [300]


async def test_an_expired_download_url_is_wechats_error() -> None:
    async with simulated(bill_ready_hour=None, bill_url_seconds=0) as world:
        await world.pay("JB-STATEMENT-7", 300)
        day = world.clock().astimezone(CHINA).date()
        with pytest.raises(ChannelError) as caught:
            await world.channel.fetch_statement(day)
        assert caught.value.sub_code == "INVALID_REQUEST"
