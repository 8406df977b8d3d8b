"""Issue 16's merchant-facing methods over HTTP, on SQLite and PostgreSQL: orders created, paid
(WeChat and Alipay), declined, reversed and refunded through the sandbox, then
``openapi.payment.order.bill`` and ``.reconciliation`` report exactly them (sums exact to the
fen), page until empty, filter by store and cashier, and never show another merchant's orders,
stores or cashiers; ``store.query``, ``cashier.query`` and ``store.category`` answer the
merchant's own catalogue."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

BILL = "openapi.payment.order.bill"
RECONCILIATION = "openapi.payment.order.reconciliation"
STORE_QUERY = "openapi.payment.store.query"
CASHIER_QUERY = "openapi.payment.cashier.query"
CATEGORY = "openapi.store.category"
SWIPE = "openapi.payment.order.swipe"
QUERY = "openapi.payment.order.query"
REFUND = "openapi.payment.order.refund"
REFUND_QUERY = "openapi.payment.order.refund.query"
REVERSE = "openapi.payment.order.reverse"
BEIJING = timezone(timedelta(hours=8))
_codes = itertools.count(1)


def wechat_code(last_four: str = "0000") -> str:
    return f"13{next(_codes):012d}{last_four}"


def alipay_code() -> str:
    return f"28{next(_codes):012d}0000"


def yuan(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass
class Books:
    """The demo merchant's day, as the test made it."""

    sandbox: RunningSandbox
    store_a: int  # the demo store
    cashier_a: int  # the demo cashier (store A)
    store_b: int
    cashier_b: int  # in store B
    other_app: tuple[str, str]  # another merchant's app_id and secret
    other_store: int
    other_cashier: int
    order_sns: dict[str, str]  # merchant_order_sn -> order_sn


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        simulator_overrides={"time_scale": 0.01, "refund_delay_seconds": 0.05},
        alipay_overrides={"time_scale": 0.01},
        reconcile_after_seconds=0.0,
        maintenance_interval_seconds=0.05,
    ) as running:
        yield running


async def ok(sandbox: RunningSandbox, method: str, biz: dict[str, Any]) -> Any:
    answer = await sandbox.call(method, biz)
    assert answer["result_code"] == 200, answer
    return answer["data"]


async def swipe(
    sandbox: RunningSandbox, sn: str, fee: str, code: str, store: int, cashier: int | None = None
) -> dict[str, Any]:
    biz: dict[str, Any] = {"merchant_order_sn": sn, "auth_code": code, "total_fee": fee,
                           "store_id": store}  # fmt: skip
    if cashier is not None:
        biz["cashier_id"] = cashier
    answer = await sandbox.call(SWIPE, biz)
    return answer


async def reaches(sandbox: RunningSandbox, sn: str, wanted: str) -> None:
    async def check() -> bool:
        data = await ok(sandbox, QUERY, {"merchant_order_sn": sn})
        return bool(data["trade_state"] == wanted)

    await eventually(check)


async def paid_code(
    sandbox: RunningSandbox, sn: str, fee: str, code: str, store: int, cashier: int | None = None
) -> str:
    """A payment code that pays at once (``SUCCESS``, or ``USERPAYING`` when the channel's
    answer was slow, then ``SUCCESS`` as the till's queries find); its order_sn."""
    answer = await swipe(sandbox, sn, fee, code, store, cashier)
    assert answer["result_code"] == 200, answer
    await reaches(sandbox, sn, "SUCCESS")
    order_sn: str = answer["data"]["order_sn"]
    return order_sn


async def refund_settles(sandbox: RunningSandbox, order_sn: str, money: str) -> None:
    answer = await ok(sandbox, REFUND, {"order_sn": order_sn, "refund_money": money})
    refund_sn = answer["refund_sn"]

    async def settled() -> bool:
        data = await ok(sandbox, REFUND_QUERY, {"order_sn": order_sn, "refund_sn": refund_sn})
        return bool(data["refund_status"] == "REFUND_SUCCESS")

    await eventually(settled)


@pytest.fixture
async def books(sandbox: RunningSandbox) -> Books:
    info, directory = sandbox.info, sandbox.runtime.merchants
    store_a, cashier_a = int(info["store_id"]), int(info["cashier_id"])
    demo = await directory.app(info["app_id"])
    assert demo is not None
    store_b = (await directory.create_store(demo.merchant.merchant_id, "二号店 Mall")).store_id
    cashier_b = (await directory.create_cashier(store_b, "小王")).cashier_id
    sns: dict[str, str] = {}

    # st-1: a mini-program order paid by the payer (WeChat), 0.10
    created = await sandbox.mina("st-1", "0.10")
    assert created["result_code"] == 200, created
    assert (await sandbox.pay(created["data"]["sign_params"])).status_code == 200
    sns["st-1"] = created["data"]["order_sn"]

    await reaches(sandbox, "st-1", "SUCCESS")
    # st-2: a WeChat payment code at store A's cashier, 0.20 (0.10 + 0.20 is no float's 0.3)
    sns["st-2"] = await paid_code(sandbox, "st-2", "0.20", wechat_code(), store_a, cashier_a)
    # st-3: an Alipay payment code at store B's cashier, 1.23
    sns["st-3"] = await paid_code(sandbox, "st-3", "1.23", alipay_code(), store_b, cashier_b)
    # st-4: created, never paid
    created = await sandbox.mina("st-4", "0.07")
    sns["st-4"] = created["data"]["order_sn"]
    # st-5: a declined payment code (balance too low): CLOSED, unpaid
    declined = await swipe(sandbox, "st-5", "9.99", wechat_code("2222"), store_a)
    assert declined["sub_code"] == "BALANCE_NOT_ENOUGH", declined
    sns["st-5"] = (await ok(sandbox, QUERY, {"merchant_order_sn": "st-5"}))["order_sn"]
    # st-6: paid, then reversed: the money went back, it is no payment
    sns["st-6"] = await paid_code(sandbox, "st-6", "0.50", wechat_code(), store_a)
    await ok(sandbox, REVERSE, {"order_sn": sns["st-6"]})
    await reaches(sandbox, "st-6", "REVOKED")
    # refunds: 0.07 of st-2 (WeChat), all of st-3 (Alipay)
    await refund_settles(sandbox, sns["st-2"], "0.07")
    await refund_settles(sandbox, sns["st-3"], "1.23")

    # another merchant with a paid order of its own
    other = await directory.create_merchant("别家", "1900009999", "wx0000000000000001")
    other_app = await directory.create_app(other.merchant_id)
    other_store = (await directory.create_store(other.merchant_id, "别家门店")).store_id
    other_cashier = (await directory.create_cashier(other_store, "别家收银员")).cashier_id
    theirs = await sandbox.call_as(
        other_app.app.app_id, other_app.app_secret, SWIPE,
        {"merchant_order_sn": "st-1", "auth_code": wechat_code(), "total_fee": "8.88",
         "store_id": other_store, "cashier_id": other_cashier},
    )  # fmt: skip
    assert theirs["result_code"] == 200, theirs

    async def theirs_paid() -> bool:
        answer = await sandbox.call_as(other_app.app.app_id, other_app.app_secret, QUERY,
                                       {"merchant_order_sn": "st-1"})  # fmt: skip
        return bool(answer["data"]["trade_state"] == "SUCCESS")

    await eventually(theirs_paid)
    other_credentials = (other_app.app.app_id, other_app.app_secret)
    return Books(sandbox, store_a, cashier_a, store_b, cashier_b, other_credentials,
                 other_store, other_cashier, sns)  # fmt: skip


def window(minutes: int = 30) -> dict[str, str]:
    now = datetime.now(BEIJING)
    start, end = now - timedelta(minutes=minutes), now + timedelta(minutes=minutes)
    return {"start_time": f"{start:%Y-%m-%d %H:%M:%S}", "end_time": f"{end:%Y-%m-%d %H:%M:%S}"}


def today() -> dict[str, str]:
    """Values as strings, as the hippospay gem sends them."""
    now = datetime.now(BEIJING)
    return {"year": str(now.year), "month": str(now.month), "day": str(now.day)}


async def every_page(sandbox: RunningSandbox, method: str, biz: dict[str, Any]) -> list[Any]:
    """Page as the clients do: until ``list`` comes back empty."""
    lines: list[Any] = []
    for page in range(1, 50):
        data = await ok(sandbox, method, {**biz, "page": str(page)})
        if not data["list"]:
            return lines
        assert len(data["list"]) <= int(biz.get("limit", 10))
        lines += data["list"]
    raise AssertionError("the list never came back empty")


async def test_the_bill_lists_exactly_the_paid_orders_with_exact_sums(books: Books) -> None:
    sandbox = books.sandbox
    data = await ok(sandbox, BILL, window())
    assert data["summary_num"] == 3
    assert yuan(data["summary_total_fee"]) == Decimal("1.53")  # 0.10 + 0.20 + 1.23
    assert data["refund_num"] == 2
    assert yuan(data["refund_money"]) == Decimal("1.30")  # 0.07 + 1.23
    listed = {line["merchant_order_sn"]: line for line in data["list"]}
    assert sorted(listed) == ["st-1", "st-2", "st-3"]  # not unpaid, declined, reversed, theirs
    assert [line["pay_time"] for line in data["list"]] == sorted(
        line["pay_time"] for line in data["list"]
    )
    st3 = listed["st-3"]
    assert st3["order_sn"] == books.order_sns["st-3"]
    assert (
        st3["pay_type"] == 2 and listed["st-1"]["pay_type"] == 1 and listed["st-2"]["pay_type"] == 1
    )
    assert yuan(st3["total_fee"]) == yuan(st3["order_price"]) == yuan(st3["income"])
    assert yuan(st3["total_fee"]) == Decimal("1.23")
    assert yuan(st3["fee"]) == yuan(st3["discount_money"]) == 0
    assert (st3["store_id"], st3["cashier_id"]) == (books.store_b, books.cashier_b)
    assert listed["st-1"]["cashier_id"] == 0
    for line in data["list"]:
        assert isinstance(line["create_time"], int) and isinstance(line["pay_time"], int)
        assert line["create_time"] <= line["pay_time"] <= time.time() + 5
        assert abs(line["create_time"] - time.time()) < 600


async def test_the_bill_pages_until_empty_and_filters(books: Books) -> None:
    sandbox = books.sandbox
    pages = [await ok(sandbox, BILL, {**window(), "limit": 2, "page": page}) for page in (1, 2, 3)]
    assert [len(page["list"]) for page in pages] == [2, 1, 0]
    assert {page["summary_num"] for page in pages} == {3}  # the summary covers the window
    assert [line["merchant_order_sn"] for page in pages for line in page["list"]] == [
        line["merchant_order_sn"] for line in (await ok(sandbox, BILL, window()))["list"]
    ]
    # a string limit, as some SDKs send it
    assert len((await ok(sandbox, BILL, {**window(), "limit": "1"}))["list"]) == 1

    store_b = await ok(sandbox, BILL, {**window(), "store_id": str(books.store_b)})
    assert [line["merchant_order_sn"] for line in store_b["list"]] == ["st-3"]
    assert (store_b["summary_num"], yuan(store_b["summary_total_fee"])) == (1, Decimal("1.23"))
    assert (store_b["refund_num"], yuan(store_b["refund_money"])) == (1, Decimal("1.23"))

    cashier_a = await ok(sandbox, BILL, {**window(), "cashier_id": books.cashier_a})
    assert [line["merchant_order_sn"] for line in cashier_a["list"]] == ["st-2"]
    assert (cashier_a["refund_num"], yuan(cashier_a["refund_money"])) == (1, Decimal("0.07"))

    store_a = await ok(sandbox, BILL, {**window(), "store_id": books.store_a, "cashier_id": 0})
    assert sorted(line["merchant_order_sn"] for line in store_a["list"]) == ["st-1", "st-2"]
    assert yuan(store_a["summary_total_fee"]) == Decimal("0.30")

    # a window before any of it
    past = await ok(sandbox, BILL, {"start_time": "2020-01-01 00:00:00",
                                    "end_time": "2020-01-31 23:59:59"})  # fmt: skip
    assert past == {"summary_num": 0, "summary_total_fee": 0, "refund_num": 0,
                    "refund_money": 0, "list": []}  # fmt: skip


async def test_the_reconciliation_pages_the_day_until_empty(books: Books) -> None:
    sandbox = books.sandbox
    paid = await every_page(sandbox, RECONCILIATION, {**today(), "limit": "2"})
    assert [line["merchant_order_sn"] for line in paid] == ["st-1", "st-2", "st-3"]
    assert {line["pay_status"] for line in paid} == {1}
    assert sum(yuan(line["total_fee"]) for line in paid) == Decimal("1.53")

    everything = await every_page(sandbox, RECONCILIATION, {**today(), "limit": "2", "type": "1"})
    assert [line["merchant_order_sn"] for line in everything] == [
        "st-1", "st-2", "st-3", "st-4", "st-5", "st-6"
    ]  # fmt: skip
    by_sn = {line["merchant_order_sn"]: line for line in everything}
    assert {sn for sn, line in by_sn.items() if line["pay_status"] == 1} == {"st-1", "st-2", "st-3"}
    assert by_sn["st-4"]["pay_time"] == 0 and by_sn["st-6"]["pay_time"] == 0
    assert [line["create_time"] for line in everything] == sorted(
        line["create_time"] for line in everything
    )
    line = by_sn["st-3"]
    assert line["order_sn"] == books.order_sns["st-3"]
    assert set(line) == {"order_sn", "merchant_order_sn", "create_time", "total_fee", "fee",
                         "income", "store_id", "cashier_id", "pay_time", "pay_status",
                         "pay_type"}  # fmt: skip
    assert line["pay_type"] == 2
    assert (yuan(line["income"]), yuan(line["fee"])) == (Decimal("1.23"), Decimal(0))

    by_store = await every_page(
        sandbox, RECONCILIATION, {**today(), "type": 1, "store_id": books.store_b}
    )
    assert [line["merchant_order_sn"] for line in by_store] == ["st-3"]
    by_cashier = await every_page(
        sandbox, RECONCILIATION, {**today(), "type": "1", "cashier_id": str(books.cashier_a)}
    )
    assert [line["merchant_order_sn"] for line in by_cashier] == ["st-2"]
    # the day before: nothing
    yesterday = datetime.now(BEIJING) - timedelta(days=1)
    day_before = {"year": yesterday.year, "month": yesterday.month, "day": yesterday.day}
    empty = await ok(sandbox, RECONCILIATION, day_before)
    assert empty == {"list": []}


async def test_another_merchants_data_is_invisible(books: Books) -> None:
    sandbox = books.sandbox
    app_id, secret = books.other_app
    theirs = await sandbox.call_as(app_id, secret, BILL, window())
    assert theirs["data"]["summary_num"] == 1, theirs
    assert [line["merchant_order_sn"] for line in theirs["data"]["list"]] == ["st-1"]
    assert yuan(theirs["data"]["summary_total_fee"]) == Decimal("8.88")
    assert theirs["data"]["list"][0]["order_sn"] != books.order_sns["st-1"]
    assert theirs["data"]["refund_num"] == 0

    refusals: list[tuple[str, dict[str, Any], str]] = [
        (BILL, {**window(), "store_id": books.other_store}, "STORE_NOT_FOUND"),
        (BILL, {**window(), "cashier_id": books.other_cashier}, "CASHIER_NOT_FOUND"),
        (BILL, {**window(), "store_id": books.store_a, "cashier_id": books.cashier_b},
         "CASHIER_NOT_FOUND"),
        (RECONCILIATION, {**today(), "store_id": books.other_store}, "STORE_NOT_FOUND"),
        (CASHIER_QUERY, {"store_id": books.other_store}, "STORE_NOT_FOUND"),
    ]  # fmt: skip
    for method, biz, sub_code in refusals:
        answer = await sandbox.call(method, biz)
        assert (answer["result_code"], answer.get("sub_code")) == (400, sub_code), (biz, answer)
        assert "不存在或不属于" in answer["result_message"]
    assert await ok(sandbox, STORE_QUERY, {"storeId": books.other_store}) == {"list": []}
    mine = await ok(sandbox, RECONCILIATION, {**today(), "type": "1"})
    assert "8.88" not in json.dumps(mine) and len(mine["list"]) == 6


async def test_store_and_cashier_queries_answer_the_merchants_own(books: Books) -> None:
    sandbox = books.sandbox
    stores = await ok(sandbox, STORE_QUERY, {})
    assert [s["store_id"] for s in stores["list"]] == [books.store_a, books.store_b]
    assert stores["list"][1] == {"store_id": books.store_b, "store_name": "二号店 Mall"}
    # camelCase storeId (ParamPaymentQueryStore), as a string too; a name contained, any case
    for biz in ({"storeId": books.store_b}, {"storeId": str(books.store_b)},
                {"store_name": "二号"}, {"store_name": "mall"}):  # fmt: skip
        assert [s["store_id"] for s in (await ok(sandbox, STORE_QUERY, biz))["list"]] == [
            books.store_b
        ], biz
    assert await ok(sandbox, STORE_QUERY, {"store_name": "%"}) == {"list": []}  # not a wildcard
    assert len((await ok(sandbox, STORE_QUERY, {"limit": 1, "page": 2}))["list"]) == 1

    cashiers = await ok(sandbox, CASHIER_QUERY, {})
    assert cashiers["list"] == [
        {"store_id": str(books.store_a), "cashier_id": str(books.cashier_a),
         "cashier_name": cashiers["list"][0]["cashier_name"], "cashier_account": ""},
        {"store_id": str(books.store_b), "cashier_id": str(books.cashier_b),
         "cashier_name": "小王", "cashier_account": ""},
    ]  # fmt: skip
    in_b = await ok(sandbox, CASHIER_QUERY, {"store_id": str(books.store_b)})
    assert [c["cashier_id"] for c in in_b["list"]] == [str(books.cashier_b)]


async def test_store_category_answers_an_array(sandbox: RunningSandbox) -> None:
    top = await sandbox.call(CATEGORY, {})
    assert top["result_code"] == 200 and isinstance(top["data"], list), top
    assert {"category_id": 1, "category_name": "餐饮"} in top["data"]
    food = await ok(sandbox, CATEGORY, {"parent_id": "1"})
    assert {"category_id": 101, "category_name": "中餐"} in food
    assert all(item["category_id"] // 100 == 1 for item in food)
    assert await ok(sandbox, CATEGORY, {"parent_id": 101}) == []  # a leaf
    assert (await sandbox.call(CATEGORY, "[]"))["data"] == top["data"]  # PHP's empty biz
    unknown = await sandbox.call(CATEGORY, {"parent_id": 77})
    assert unknown["sub_code"] == "CATEGORY_NOT_FOUND", unknown


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


async def test_sdk_shaped_requests(books: Books) -> None:
    """A reconciliation as the .NET SDK sends it: value types serialised even when unset
    (``store_id`` 0, ``cashier_id`` 0, ``type`` 0), compact JSON, signed by hand over the exact
    text (reference 2.2-2.3); then a store query as the PHP SDK sends it."""
    sandbox, info = books.sandbox, books.sandbox.info
    now = datetime.now(BEIJING)
    biz_text = json.dumps(
        {"year": now.year, "month": now.month, "day": now.day, "store_id": 0, "cashier_id": 0,
         "page": 1, "limit": 100, "type": 0},
        separators=(",", ":"),
    )  # fmt: skip
    params = {"app_id": info["app_id"], "method": RECONCILIATION, "format": "json",
              "sign_method": "md5", "nonce": "1701234567890", "version": "1.0",
              "biz_content": biz_text}  # fmt: skip
    base = "&".join(f"{k}={params[k]}" for k in sorted(params)) + info["app_secret"]
    body = json.dumps({**params, "sign": md5_upper(base)}).encode()
    answer = (await sandbox.http.post(
        "/gateway", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )).json()  # fmt: skip
    assert answer["result_code"] == 200, answer
    assert [line["merchant_order_sn"] for line in answer["data"]["list"]] == [
        "st-1",
        "st-2",
        "st-3",
    ]

    # A store query as the PHP SDK sends it: json_encode escapes CJK (\u4e8c...), nonce is
    # time() as a JSON number, the signed string has the keys lower-cased, and an unset
    # storeId is sent empty.
    biz_text = json.dumps({"store_name": "二号店", "storeId": ""})  # ASCII only, as PHP
    assert "\\u4e8c" in biz_text
    nonce = int(time.time())
    php: dict[str, Any] = {"app_id": info["app_id"], "method": STORE_QUERY, "format": "json",
                           "sign_method": "md5", "nonce": nonce, "version": "1.0",
                           "biz_content": biz_text}  # fmt: skip
    base = "&".join(f"{k.lower()}={php[k]}" for k in sorted(php, key=str.lower))
    body = json.dumps({**php, "sign": md5_upper(base + info["app_secret"])}).encode()
    answer = (await sandbox.http.post("/gateway", content=body)).json()
    assert answer["result_code"] == 200, answer
    assert answer["data"] == {"list": [{"store_id": books.store_b, "store_name": "二号店 Mall"}]}


BAD_INPUT: list[tuple[str, dict[str, Any], str, str]] = [
    (BILL, {"end_time": "2026-01-01 00:00:00"}, "MISSING_PARAMETER", "start_time"),
    (BILL, {"start_time": "2026-01-01", "end_time": "2026-01-02 00:00:00"}, "INVALID_TIME",
     "start_time"),
    (BILL, {"start_time": "2026-02-30 00:00:00", "end_time": "2026-03-02 00:00:00"},
     "INVALID_TIME", "start_time"),
    (BILL, {"start_time": "2026-01-02 00:00:00", "end_time": "2026-01-01 23:59:59"},
     "INVALID_TIME_RANGE", "end_time"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-02-01 00:00:00"},
     "TIME_RANGE_TOO_LONG", "31"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-01-02 00:00:00",
            "limit": 0}, "INVALID_PARAMETER", "limit"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-01-02 00:00:00",
            "limit": "101"}, "INVALID_PARAMETER", "limit"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-01-02 00:00:00",
            "page": -1}, "INVALID_PARAMETER", "page"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-01-02 00:00:00",
            "page": "first"}, "INVALID_PARAMETER", "page"),
    (RECONCILIATION, {"year": "2026", "month": "2", "day": "30"}, "INVALID_TIME", "day=30"),
    (RECONCILIATION, {"year": "2026", "month": "13", "day": "1"}, "INVALID_TIME", "month"),
    (RECONCILIATION, {"month": "1", "day": "1"}, "MISSING_PARAMETER", "year"),
    (RECONCILIATION, {"year": 2026, "month": 1, "day": 1, "type": 2}, "INVALID_PARAMETER",
     "type"),
    (RECONCILIATION, {"year": 2026, "month": 1, "day": 1, "limit": 1000},
     "INVALID_PARAMETER", "limit"),
    (BILL, {"start_time": "２０２６-01-01 00:00:00", "end_time": "2026-01-02 00:00:00"},
     "INVALID_TIME", "start_time"),
    (BILL, {"start_time": 20260101, "end_time": "2026-01-02 00:00:00"}, "INVALID_TIME",
     "yyyy-MM-dd HH:mm:ss"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-01-02 00:00:00",
            "page": 100001}, "INVALID_PARAMETER", "page"),
    (BILL, {"start_time": "2026-01-01 00:00:00", "end_time": "2026-01-02 00:00:00",
            "store_id": "1.5"}, "INVALID_PARAMETER", "store_id"),
    (RECONCILIATION, {"year": "1999", "month": "1", "day": "1"}, "INVALID_TIME", "year"),
    (RECONCILIATION, {"year": "二零二六", "month": "1", "day": "1"}, "INVALID_PARAMETER", "year"),
    (STORE_QUERY, {"storeId": "abc"}, "INVALID_PARAMETER", "storeId"),
    (STORE_QUERY, {"store_name": "店" * 65}, "INVALID_PARAMETER", "store_name"),
    (CASHIER_QUERY, {"limit": 0}, "INVALID_PARAMETER", "limit"),
    (CASHIER_QUERY, {"store_id": 99999999}, "STORE_NOT_FOUND", "store_id"),
    (CATEGORY, {"parent_id": -1}, "INVALID_PARAMETER", "parent_id"),
]  # fmt: skip


async def test_bad_input_is_a_clear_failure(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox:
        for method, biz, sub_code, mentions in BAD_INPUT:
            answer = await sandbox.call(method, biz)
            assert answer["result_code"] == 400, (biz, answer)
            assert answer["sub_code"] == sub_code, (biz, answer)
            assert mentions in answer["result_message"], (biz, answer)
