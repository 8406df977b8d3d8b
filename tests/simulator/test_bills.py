"""Trade bills (reference part 2, §8 and §11) as an independent v3 client sees them: the signed
application, the unsigned download, the exact CSV layout and WeChat's error codes."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from jubao.channels.simulator.ids import CHINA
from tests.simulator.conftest import World, open_world
from tests.simulator.support import (
    OTHER_SUB_MCHID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    verify_signed,
)

ALL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


@pytest.fixture
async def at_once() -> AsyncIterator[World]:
    """Bills available at once, as in the sandbox."""
    async for world in open_world(bill_ready_hour=None):
        yield world


def today(world: World) -> date:
    return world.clock().astimezone(CHINA).date()


async def apply(world: World, day: date, **params: str) -> httpx.Response:
    query = "&".join(f"{k}={v}" for k, v in {"bill_date": day.isoformat(), **params}.items())
    return await world.merchant.call("GET", f"/v3/bill/tradebill?{query}")


async def download(world: World, url: str) -> httpx.Response:
    parts = urlsplit(url)
    assert parts.path.startswith("/sim/wechatpay/v3/billdownload/file")
    # Signed as a client given the simulator's URL as its API root signs it (relative path).
    relative = parts.path.removeprefix("/sim/wechatpay") + "?" + parts.query
    return await world.merchant.call("GET", relative)


async def test_a_days_bill_in_wechats_layout(at_once: World) -> None:
    world = at_once
    await world.merchant.paid_order("order-0001", total=1234)
    await world.merchant.paid_order("order-0002", total=1)
    assert (await world.merchant.refund("order-0001", "refund-1", 500, total=1234)).is_success
    await world.sim.idle()

    applied = await apply(world, today(world), bill_type="ALL")
    assert applied.status_code == 200, applied.text
    verify_signed(applied.headers, applied.content, world.sim)
    answer = applied.json()
    assert answer["hash_type"] == "SHA1"
    assert urlsplit(answer["download_url"]).netloc == "sim.test"

    fetched = await download(world, answer["download_url"])
    assert fetched.status_code == 200
    assert "Wechatpay-Signature" not in fetched.headers  # the hash vouches for the bytes
    assert hashlib.sha1(fetched.content).hexdigest() == answer["hash_value"]
    text = fetched.content.decode("utf-8")
    assert not text.startswith("\ufeff") and "\r" not in text
    lines = text.split("\n")
    assert lines[0] == ALL_HEADER
    assert lines[-1] == ""
    details, summary = lines[1:4], lines[4:6]
    for line in details:
        assert line.startswith("`") and len(line[1:].split(",`")) == 27
    rows = [dict(zip(ALL_HEADER.split(","), line[1:].split(",`"), strict=True)) for line in details]
    first = rows[0]
    assert first["商户订单号"] == "order-0001"
    assert (first["交易状态"], first["交易类型"]) == ("SUCCESS", "JSAPI")
    assert first["公众账号ID"] == SUB_APPID  # the app the payer's openid belongs to
    assert (first["商户号"], first["特约商户号"]) == (SP_MCHID, SUB_MCHID)
    assert (first["订单金额"], first["应结订单金额"], first["手续费"], first["费率"]) == (
        "12.34",
        "12.34",
        "0.07000",  # 0.6 % of 12.34 = 0.07404, rounded half-up to the fen
        "0.60%",
    )
    assert (first["微信退款单号"], first["商户退款单号"], first["退款类型"]) == ("0", "0", "")
    assert first["商品名称"] == "测试商品"
    refund = next(row for row in rows if row["交易状态"] == "REFUND")
    assert (refund["商户退款单号"], refund["申请退款金额"], refund["退款金额"]) == (
        "refund-1",
        "5.00",
        "5.00",
    )
    assert (refund["订单金额"], refund["手续费"]) == ("0.00", "-0.03000")  # the fee returned
    assert refund["退款状态"] == "SUCCESS"
    assert refund["微信订单号"] == first["微信订单号"]
    assert summary[0] == SUMMARY
    assert summary[1] == "`3,`12.35,`5.00,`0.00,`0.04000,`12.35,`5.00"


async def test_bill_types_and_sub_merchants(at_once: World) -> None:
    world = at_once
    await world.merchant.paid_order("order-0001", total=100)
    await world.merchant.refund("order-0001", "refund-1", 40)
    await world.sim.idle()

    refunds = await apply(world, today(world), bill_type="REFUND")
    text = (await download(world, refunds.json()["download_url"])).text
    header, row = text.split("\n")[:2]
    assert header == ALL_HEADER.replace("代金券金额,", "代金券金额,退款申请时间,退款成功时间,")
    assert len(row[1:].split(",`")) == 29 and "`REFUND," in row
    assert text.split("\n")[2] == SUMMARY

    payments = await apply(world, today(world), bill_type="SUCCESS", sub_mchid=SUB_MCHID)
    text = (await download(world, payments.json()["download_url"])).text
    assert text.split("\n")[2:4] == [
        "总交易单数,应结订单总金额,手续费总金额,订单总金额",
        "`1,`1.00,`0.01000,`1.00",
    ]

    other = await apply(world, today(world), sub_mchid=OTHER_SUB_MCHID)
    assert (other.status_code, other.json()["code"]) == (400, "NO_STATEMENT_EXIST")
    stranger = await apply(world, today(world), sub_mchid="1999999999")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "NO_AUTH")


async def test_gzip_bom_and_crlf() -> None:
    async for world in open_world(bill_ready_hour=None, bill_bom=True, bill_crlf=True):
        await world.merchant.paid_order("order-0001", total=100)
        applied = (await apply(world, today(world), tar_type="GZIP")).json()
        fetched = await download(world, applied["download_url"])
        plain = gzip.decompress(fetched.content)
        assert hashlib.sha1(plain).hexdigest() == applied["hash_value"]  # of the unpacked bill
        assert plain.startswith("\ufeff交易时间".encode()) and plain.endswith(b"\r\n")


async def test_wechats_refusals(world: World) -> None:
    """The default: a day's bill exists from 09:00 China time the next day."""
    day = today(world)
    world.clock.moment = datetime.combine(day, time(12), CHINA)  # yesterday's bill is out
    await world.merchant.paid_order("order-0001")

    async def code(answer: httpx.Response) -> tuple[int, str]:
        return answer.status_code, answer.json()["code"]

    assert await code(await apply(world, day)) == (400, "STATEMENT_CREATING")
    assert await code(await apply(world, day + timedelta(days=1))) == (400, "INVALID_REQUEST")
    assert await code(await apply(world, day - timedelta(days=93))) == (400, "INVALID_REQUEST")
    assert await code(await apply(world, day - timedelta(days=1))) == (400, "NO_STATEMENT_EXIST")
    assert await code(await apply(world, day, bill_type="FUNDS")) == (400, "PARAM_ERROR")
    missing = await world.merchant.call("GET", "/v3/bill/tradebill")
    assert await code(missing) == (400, "PARAM_ERROR")
    unsigned = await world.http.get(f"/sim/wechatpay/v3/bill/tradebill?bill_date={day}")
    assert await code(unsigned) == (401, "SIGN_ERROR")

    world.clock.moment = datetime.combine(day + timedelta(days=1), time(9), CHINA)
    applied = await apply(world, day)
    assert applied.status_code == 200
    url = applied.json()["download_url"]
    assert (await download(world, url)).status_code == 200
    tampered = url.replace("token=", "token=x")
    assert await code(await download(world, tampered)) == (400, "INVALID_REQUEST")
    world.clock.advance(301)  # the URL lives five minutes
    assert await code(await download(world, url)) == (400, "INVALID_REQUEST")
