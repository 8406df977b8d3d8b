"""Open API 2.0 (``POST /gateway/agent``) end to end through the sandbox: the two credentials, a
vendor acting for its own merchants only, every ``fbpay.*`` method against the WeChat and Alipay
simulators, one order seen through both API generations, and 2.0 error codes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.notify.support import running_receiver, wait_until
from tests.support.sandbox import RunningSandbox, running_sandbox

from jubao.payments import repository as payment_repo
from jubao.protocol import envelope as env
from jubao.protocol import signing
from jubao.sandbox_payer import pay_order

QUERY = "fbpay.order.query"
PAY = "fbpay.order.pay"
CREATE = "fbpay.order.create"
CLOSE = "fbpay.order.close"
REFUND = "fbpay.order.refund"
REFUND_QUERY = "fbpay.order.refund.query"
WAP = "fbpay.order.wap.create"
CALLBACK_CONFIG = "fbpay.pay.callback.config"

WECHAT_CODE = "134567890123450000"  # pays at once (README "Sandbox payment codes")
ALIPAY_CODE = "280000000000010000"


def yuan(value: Any) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        yield running


def test_vector_v4_verifies() -> None:
    """Reference 2.4, V4: a vendor-level request (vendor_sn instead of app_id)."""
    secret = "1b2da5600e53fde3c657a2652839b84e"
    body = json.dumps(
        {
            "vendor_sn": "2018113015321682303a",
            "method": "fbpay.order.query",
            "format": "json",
            "sign_method": "md5",
            "nonce": "1624512345678",
            "version": "1.0",
            "biz_content": '{"merchant_id":189160,"merchant_order_sn":"20240101120000123"}',
            "sign": "DAEF2DC84E293A775A6A14CF71605E3F",
        }
    ).encode()
    parsed = env.parse_envelope(body, "application/json", vendors=True)
    assert parsed.vendor_sn == "2018113015321682303a" and parsed.app_id == ""
    assert parsed.credential == "2018113015321682303a"
    assert signing.verify(parsed.signed_params, secret, parsed.sign)
    assert not signing.verify(parsed.signed_params, secret[:-1] + "f", parsed.sign)
    # independent of jubao's signer: the reference's base string
    base = (
        'biz_content={"merchant_id":189160,"merchant_order_sn":"20240101120000123"}'
        "&format=json&method=fbpay.order.query&nonce=1624512345678&sign_method=md5"
        "&vendor_sn=2018113015321682303a&version=1.0" + secret
    )
    assert hashlib.md5(base.encode()).hexdigest().upper() == "DAEF2DC84E293A775A6A14CF71605E3F"


async def pay_by_code(
    sandbox: RunningSandbox, sn: str, code: str = WECHAT_CODE, amount: str = "2.50", **biz: Any
) -> dict[str, Any]:
    return await sandbox.agent(
        PAY,
        {
            "merchant_order_sn": sn,
            "auth_code": code,
            "total_amount": amount,
            "store_id": sandbox.info["store_id"],
            **biz,
        },
    )


async def test_vendor_pays_and_queries_for_its_merchant(sandbox: RunningSandbox) -> None:
    paid = await pay_by_code(sandbox, "V2-PAY-1")
    assert paid["result_code"] == 200, paid
    data = paid["data"]
    assert data["order_status"] == "SUCCESS"
    assert data["pay_type"] == "wxpay"
    assert yuan(data["total_amount"]) == Decimal("2.50")
    assert data["merchant_id"] == sandbox.info["merchant_id"]
    assert data["ins_order_sn"] == data["order_sn"]
    assert data["channel_order_sn"]
    assert len(data["finish_time"]) == 14 and data["finish_time"].isdigit()

    for ref in (
        {"order_sn": data["order_sn"]},
        {"ins_order_sn": data["order_sn"]},
        {"merchant_order_sn": "V2-PAY-1"},
        # Fubei's priority: order_sn wins over a wrong merchant_order_sn
        {"order_sn": data["order_sn"], "merchant_order_sn": "nope"},
    ):
        queried = await sandbox.agent(QUERY, ref)
        assert queried["result_code"] == 200, (ref, queried)
        assert queried["data"]["order_sn"] == data["order_sn"]
        assert queried["data"]["is_can_part_refund"] == 1


async def test_merchant_level_app_signs_2_0_too(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    paid = await sandbox.agent_as(
        info["app_id"],
        info["app_secret"],
        PAY,
        {
            "merchant_order_sn": "V2-APP-1",
            "auth_code": ALIPAY_CODE,
            "total_amount": "0.01",
            "store_id": info["store_id"],
        },
    )
    assert paid["result_code"] == 200, paid
    assert paid["data"]["pay_type"] == "alipay"
    # an app naming another merchant: 1004, like a vendor would get
    other = await sandbox.agent_as(
        info["app_id"],
        info["app_secret"],
        QUERY,
        {"merchant_id": info["merchant_id"] + 1, "merchant_order_sn": "V2-APP-1"},
    )
    assert other["result_code"] == 1004 and other["sub_code"] == "MERCHANT_NOT_FOUND"


async def test_one_answer_for_any_merchant_not_the_vendors(sandbox: RunningSandbox) -> None:
    directory = sandbox.runtime.merchants
    rival = await directory.create_vendor("另一个服务商")
    theirs = await directory.create_merchant(
        "别家商户", "1900999999", "wx0000000000000001", vendor_sn=rival.vendor.vendor_sn
    )
    orphan = await directory.create_merchant("无主商户", "1900888888", "wx0000000000000002")
    answers = []
    for biz in (
        {"merchant_id": theirs.merchant_id, "merchant_order_sn": "X"},
        {"merchant_id": orphan.merchant_id, "merchant_order_sn": "X"},
        {"merchant_id": 987654321, "merchant_order_sn": "X"},
        {"merchant_order_sn": "X"},  # none named
    ):
        answers.append(
            await sandbox.agent_as(
                sandbox.info["vendor_sn"],
                sandbox.info["vendor_secret"],
                QUERY,
                biz,
                "vendor_sn",
            )
        )
    assert all(a == answers[0] for a in answers), answers
    assert answers[0] == {
        "result_code": 1004,
        "result_message": "商户不存在",
        "sub_code": "MERCHANT_NOT_FOUND",
    }
    # the rival acts for its own merchant: found, but no such order (not 1004)
    own = await sandbox.agent_as(
        rival.vendor.vendor_sn,
        rival.vendor_secret,
        QUERY,
        {"merchant_id": theirs.merchant_id, "merchant_order_sn": "X"},
        "vendor_sn",
    )
    assert own["result_code"] == 400 and own["sub_code"] == "ORDER_NOT_FOUND", own


async def test_wrong_vendor_secret_and_unknown_vendor(sandbox: RunningSandbox) -> None:
    bad = await sandbox.agent_as(
        sandbox.info["vendor_sn"], "0" * 32, QUERY, {"merchant_order_sn": "X"}, "vendor_sn"
    )
    assert bad["sub_code"] == "SIGN_ERROR" and "vendor_secret" in bad["result_message"]
    unknown = await sandbox.agent_as("20180000000000000000a", "0" * 32, QUERY, {}, "vendor_sn")
    assert unknown["result_code"] == 1004 and unknown["sub_code"] == "VENDOR_NOT_FOUND"


async def test_one_order_two_views(sandbox: RunningSandbox) -> None:
    """Created through 2.0, seen through 1.0; created through 1.0, seen through 2.0."""
    paid = await pay_by_code(sandbox, "V2-BOTH-1", amount="1.20")
    assert paid["result_code"] == 200, paid
    v1 = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": "V2-BOTH-1"})
    assert v1["result_code"] == 200, v1
    assert v1["data"]["order_sn"] == paid["data"]["order_sn"]
    assert v1["data"]["trade_state"] == "SUCCESS" and v1["data"]["type"] == 1
    assert yuan(v1["data"]["total_fee"]) == Decimal("1.20")

    swiped = await sandbox.call(
        "openapi.payment.order.swipe",
        {
            "merchant_order_sn": "V1-BOTH-1",
            "auth_code": ALIPAY_CODE,
            "total_fee": "3.30",
            "store_id": sandbox.info["store_id"],
        },
    )
    assert swiped["result_code"] == 200, swiped
    v2 = await sandbox.agent(QUERY, {"merchant_order_sn": "V1-BOTH-1"})
    assert v2["result_code"] == 200, v2
    assert v2["data"]["order_sn"] == swiped["data"]["order_sn"]
    assert v2["data"]["order_status"] == "SUCCESS" and v2["data"]["pay_type"] == "alipay"
    assert yuan(v2["data"]["total_amount"]) == Decimal("3.30")


@pytest.mark.parametrize(
    ("biz", "sub_code"),
    [
        ({"merchant_order_sn": "E1", "auth_code": WECHAT_CODE}, "MISSING_PARAMETER"),
        (
            {"merchant_order_sn": "E2", "auth_code": WECHAT_CODE, "total_amount": "1.001"},
            "INVALID_AMOUNT",
        ),
        (
            {"merchant_order_sn": "E3", "auth_code": WECHAT_CODE, "total_amount": [1]},
            "INVALID_AMOUNT",
        ),
        ({"merchant_order_sn": {"a": 1}, "total_amount": "1"}, "INVALID_PARAMETER"),
    ],
)
async def test_bad_input_is_9996(
    sandbox: RunningSandbox, biz: dict[str, Any], sub_code: str
) -> None:
    answer = await sandbox.agent(PAY, biz)
    assert answer["result_code"] == 9996, answer
    assert answer["sub_code"] == sub_code


async def test_addresses_jubao_calls_must_be_http_or_https(sandbox: RunningSandbox) -> None:
    """notify_url, return_url and the callback addresses: 1.0's address check, in 2.0 too."""
    calls = [
        (CREATE, jsapi_biz(sandbox, "U1", "wxpay", notify_url="ftp://m.example/n"), "notify_url"),
        (WAP, {**jsapi_biz(sandbox, "U2", "alipay"), "return_url": "javascript:x"}, "return_url"),
        (CALLBACK_CONFIG, {"callback_url": "file:///etc/passwd"}, "callback_url"),
        (CALLBACK_CONFIG, {"refund_callback_url": "ftp://m.example/r"}, "refund_callback_url"),
    ]
    for method, biz, field in calls:
        answer = await sandbox.agent(method, biz)
        assert answer["result_code"] == 9996, answer
        assert answer["sub_code"] == "INVALID_PARAMETER", answer
        assert field in answer["result_message"], answer


async def test_bad_envelopes_are_9996_never_500(sandbox: RunningSandbox) -> None:
    for content in (b"", b"{", b"[]", b'{"method":"fbpay.order.query"}', "\xff".encode("latin-1")):
        answer = await sandbox.http.post(
            "/gateway/agent", content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200
        payload = answer.json()
        assert payload["result_code"] == 9996, (content, payload)
    biz_not_json = await sandbox.agent(QUERY, "{not json")
    assert biz_not_json["result_code"] == 9996
    unknown_method = await sandbox.agent("fbpay.order.nonsense", {})
    assert unknown_method["result_code"] == 9996
    assert unknown_method["sub_code"] == "METHOD_NOT_SUPPORTED"
    other_path = await sandbox.http.post("/gateway/agent/x", content=b"{}")
    assert other_path.status_code == 200 and other_path.json()["result_code"] == 400


# ---- JSAPI, close, refunds, callbacks and 2.0 notifications -----------------------------------


async def play_payer(sandbox: RunningSandbox, order_sn: str) -> None:
    order = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None
    async with httpx.AsyncClient(timeout=10) as client:
        paid = await pay_order(client, sandbox.info["simulators_url"], order)
    assert paid.status_code == 200, paid.text


def jsapi_biz(sandbox: RunningSandbox, sn: str, pay_type: str, **biz: Any) -> dict[str, Any]:
    user_id = (
        sandbox.info["sub_open_id"] if pay_type == "wxpay" else sandbox.alipay_info["buyer_id"]
    )
    return {
        "merchant_order_sn": sn,
        "pay_type": pay_type,
        "user_id": user_id,
        "total_amount": "0.88",
        "store_id": sandbox.info["store_id"],
        "body": "2.0 商品",
        "attach": "a&b=c",
        **biz,
    }


async def test_jsapi_create_close_and_refund_for_both_channels(sandbox: RunningSandbox) -> None:
    wx = await sandbox.agent(CREATE, jsapi_biz(sandbox, "V2-JS-WX", "wxpay"))
    assert wx["result_code"] == 200, wx
    package = wx["data"]["sign_package"]
    assert set(package) >= {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert package["package"] == f"prepay_id={wx['data']['prepay_id']}"
    assert (
        wx["data"]["pay_type"] == "wxpay" and wx["data"]["user_id"] == sandbox.info["sub_open_id"]
    )
    again = await sandbox.agent(CREATE, jsapi_biz(sandbox, "V2-JS-WX", "wxpay"))
    assert again["data"] == wx["data"]  # an identical retry answers the same package
    conflict = await sandbox.agent(CREATE, jsapi_biz(sandbox, "V2-JS-WX", "wxpay", body="别的"))
    assert conflict["result_code"] == 2 and conflict["sub_code"] == "ORDER_SN_CONFLICT"

    ali = await sandbox.agent(CREATE, jsapi_biz(sandbox, "V2-JS-ALI", "alipay"))
    assert ali["result_code"] == 200, ali
    assert "sign_package" not in ali["data"] and ali["data"]["prepay_id"]
    trade = sandbox.alipay.ledger.by_trade_no(ali["data"]["prepay_id"])
    assert trade is not None and trade.out_trade_no == ali["data"]["order_sn"]

    # close the Alipay one, pay the WeChat one
    closed = await sandbox.agent(CLOSE, {"merchant_order_sn": "V2-JS-ALI"})
    assert closed["result_code"] == 200, closed
    assert closed["data"]["order_status"] == "CLOSED"
    await play_payer(sandbox, wx["data"]["order_sn"])

    async def paid() -> bool:
        answer = await sandbox.agent(QUERY, {"order_sn": wx["data"]["order_sn"]})
        return bool(answer["data"]["order_status"] == "SUCCESS")

    await wait_until(paid, within=15, step=0.1)
    queried = await sandbox.agent(QUERY, {"order_sn": wx["data"]["order_sn"]})
    assert queried["data"]["finish_time"] and queried["data"]["channel_order_sn"]
    not_closable = await sandbox.agent(CLOSE, {"order_sn": wx["data"]["order_sn"]})
    assert not_closable["result_code"] == 400 and not_closable["sub_code"] == "ORDER_PAID"

    refund = await sandbox.agent(
        REFUND,
        {"order_sn": wx["data"]["order_sn"], "merchant_refund_sn": "R-1", "refund_amount": "0.30"},
    )
    assert refund["result_code"] == 200, refund
    assert yuan(refund["data"]["refund_amount"]) == Decimal("0.30")
    assert refund["data"]["refund_status"] in ("REFUND_PROCESSING", "REFUND_SUCCESS")

    async def refund_done() -> bool:
        answer = await sandbox.agent(REFUND_QUERY, {"refund_sn": refund["data"]["refund_sn"]})
        return bool(answer["data"]["refund_status"] == "REFUND_SUCCESS")

    await wait_until(refund_done, within=15, step=0.2)
    by_merchant_sn = await sandbox.agent(REFUND_QUERY, {"merchant_refund_sn": "R-1"})
    by_sn = await sandbox.agent(REFUND_QUERY, {"refund_sn": refund["data"]["refund_sn"]})
    assert by_merchant_sn["result_code"] == 200 == by_sn["result_code"], by_sn
    assert by_sn["data"]["merchant_refund_sn"] == "R-1"
    assert len(by_sn["data"]["finish_time"]) == 14
    assert by_merchant_sn["data"]["refund_sn"] == by_sn["data"]["refund_sn"]
    too_much = await sandbox.agent(
        REFUND, {"order_sn": wx["data"]["order_sn"], "refund_amount": "0.59"}
    )
    assert too_much["result_code"] == 400 and too_much["sub_code"] == "REFUND_EXCEEDS"
    no_amount = await sandbox.agent(REFUND, {"order_sn": wx["data"]["order_sn"]})
    assert no_amount["result_code"] == 9996 and "refund_amount" in no_amount["result_message"]
    unknown = await sandbox.agent(REFUND_QUERY, {"merchant_refund_sn": "nope"})
    assert unknown["sub_code"] == "REFUND_NOT_FOUND"
    # the refund through the other generation
    v1 = await sandbox.call(
        "openapi.payment.order.refund.query",
        {"order_sn": wx["data"]["order_sn"], "merchant_refund_sn": "R-1"},
    )
    assert v1["data"]["refund_status"] == "REFUND_SUCCESS"


def signed_by(form: dict[str, str], secret: str) -> bool:
    """The reference's recipe (8.3), independent of jubao's code."""
    base = "&".join(f"{k}={form[k]}" for k in sorted(form) if k != "sign") + secret
    return hashlib.md5(base.encode()).hexdigest().upper() == form["sign"]


async def test_2_0_notifications_signed_by_whoever_created_the_order(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_receiver() as receiver,
        running_sandbox(
            tmp_path / "data",
            database_url=database_url,
            notify_schedule=(0.05, 0.05, 0.05),
            maintenance_interval_seconds=0.05,
        ) as sandbox,
    ):
        info = sandbox.info
        config = await sandbox.agent(
            CALLBACK_CONFIG,
            {
                "callback_url": f"{receiver.url}/notify/pay",
                "refund_callback_url": f"{receiver.url}/notify/refund",
            },
        )
        assert config["result_code"] == 200, config
        assert config["data"]["bind_status"] == 1
        assert config["data"]["merchant_id"] == info["merchant_id"]
        assert config["data"]["agent_id"] == info["vendor_sn"]

        # the vendor's order: to the configured pay callback, signed with the vendor secret
        by_vendor = await pay_by_code(sandbox, "V2-N-VENDOR", amount="1.01", attach="附加")
        assert by_vendor["result_code"] == 200, by_vendor
        # the app's 2.0 order with its own notify_url: signed with the app secret
        by_app = await sandbox.agent_as(
            info["app_id"],
            info["app_secret"],
            PAY,
            {
                "merchant_order_sn": "V2-N-APP",
                "auth_code": ALIPAY_CODE,
                "total_amount": "0.02",
                "store_id": info["store_id"],
                "notify_url": f"{receiver.url}/notify/own",
            },
        )
        assert by_app["result_code"] == 200, by_app

        async def arrived() -> bool:
            return {hit.path for hit in receiver.hits} >= {"/notify/pay", "/notify/own"}

        await wait_until(arrived, within=10)
        hits = {hit.path: hit for hit in receiver.hits}
        vendor_form, app_form = hits["/notify/pay"].form, hits["/notify/own"].form
        assert signed_by(vendor_form, info["vendor_secret"])
        assert not signed_by(vendor_form, info["app_secret"])
        assert signed_by(app_form, info["app_secret"])
        assert vendor_form["result_code"] == "200" and vendor_form["result_message"] == "成功"
        data = json.loads(vendor_form["data"])
        assert data["merchant_order_sn"] == "V2-N-VENDOR"
        assert data["order_status"] == "SUCCESS" and data["pay_type"] == "wxpay"
        assert data["uid"] == info["merchant_id"] and data["attach"] == "附加"
        assert yuan(data["total_amount"]) == Decimal("1.01")
        assert data["ins_order_sn"] == data["order_sn"] and len(data["finish_time"]) == 14
        assert "trade_state" not in data and "total_fee" not in data  # 2.0, not 1.0

        # a refund of the vendor's order: to the refund callback, vendor-signed, 2.0 layout
        refund = await sandbox.agent(
            REFUND, {"merchant_order_sn": "V2-N-VENDOR", "refund_amount": "0.01"}
        )
        assert refund["result_code"] == 200, refund

        async def refunded() -> bool:
            return any(hit.path == "/notify/refund" for hit in receiver.hits)

        await wait_until(refunded, within=10)
        refund_form = next(hit.form for hit in receiver.hits if hit.path == "/notify/refund")
        assert signed_by(refund_form, info["vendor_secret"])
        refund_data = json.loads(refund_form["data"])
        assert refund_data["refund_sn"] == refund["data"]["refund_sn"]
        assert refund_data["refund_status"] == "REFUND_SUCCESS"
        assert yuan(refund_data["refund_amount"]) == Decimal("0.01")
        assert yuan(refund_data["refund_fee"]) == Decimal("0.01")

        # a 1.0 order of the same merchant is notified as before: 1.0 layout, app secret
        swiped = await sandbox.call(
            "openapi.payment.order.swipe",
            {
                "merchant_order_sn": "V1-N",
                "auth_code": "134567890123470000",  # codes are single-use
                "total_fee": "0.03",
                "store_id": info["store_id"],
                "call_back_url": f"{receiver.url}/notify/v1",
            },
        )
        assert swiped["result_code"] == 200, swiped

        async def v1_arrived() -> bool:
            return any(hit.path == "/notify/v1" for hit in receiver.hits)

        await wait_until(v1_arrived, within=10)
        v1_form = next(hit.form for hit in receiver.hits if hit.path == "/notify/v1")
        assert signed_by(v1_form, info["app_secret"])
        assert json.loads(v1_form["data"])["trade_state"] == "SUCCESS"
        # no 1.0 refund opt-in, and only the one refund went to /refund
        assert sum(hit.path == "/notify/refund" for hit in receiver.hits) >= 1
        expected = {"/notify/pay", "/notify/own", "/notify/refund", "/notify/v1"}
        assert {hit.path for hit in receiver.hits} <= expected


async def test_wap_create_opens_alipays_cashier_page_and_pays(sandbox: RunningSandbox) -> None:
    biz = {
        "merchant_order_sn": "V2-WAP-1",
        "total_amount": "6.60",
        "store_id": sandbox.info["store_id"],
        "body": "手机网站",
        "return_url": "https://merchant.example/back",
    }
    created = await sandbox.agent(WAP, biz)
    assert created["result_code"] == 200, created
    url = created["data"]["html"]
    assert url.startswith(sandbox.alipay_info["gateway_url"] + "?")
    assert "method=alipay.trade.wap.pay" in url
    again = await sandbox.agent(WAP, biz)
    assert again["data"]["html"] == url  # an identical retry answers the same page

    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        assert "支付宝收银台" in page.text and ">6.60<" in page.text
        tampered = await browser.get(
            url.replace("total_amount%22%3A%226.60", "total_amount%22%3A%220.01")
        )
        assert tampered.status_code == 400  # the signature covers the amount
        paid = await browser.post(
            url.split("gateway.do")[0] + "payer/wap-page-pay",
            data={
                "seller_id": sandbox.alipay_info["pid"],
                "out_trade_no": created["data"]["order_sn"],
                "return_url": "https://merchant.example/back",
            },
        )
        assert paid.status_code == 200 and 'data-status="TRADE_SUCCESS"' in paid.text, paid.text
        assert 'href="https://merchant.example/back"' in paid.text

    async def settled() -> bool:
        answer = await sandbox.agent(QUERY, {"merchant_order_sn": "V2-WAP-1"})
        return bool(answer["data"]["order_status"] == "SUCCESS")

    await wait_until(settled, within=15, step=0.1)
    queried = await sandbox.agent(QUERY, {"merchant_order_sn": "V2-WAP-1"})
    assert queried["data"]["pay_type"] == "alipay" and queried["data"]["channel_order_sn"]
    v1 = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": "V2-WAP-1"})
    assert v1["data"]["trade_state"] == "SUCCESS" and v1["data"]["type"] == 2


async def test_wap_by_the_sandbox_payer(sandbox: RunningSandbox) -> None:
    created = await sandbox.agent(
        WAP,
        {"merchant_order_sn": "V2-WAP-2", "total_amount": "0.10"},  # the default store
    )
    assert created["result_code"] == 200, created
    assert created["data"]["store_id"] == sandbox.info["store_id"]
    await play_payer(sandbox, created["data"]["order_sn"])

    async def settled() -> bool:
        answer = await sandbox.agent(QUERY, {"order_sn": created["data"]["order_sn"]})
        return bool(answer["data"]["order_status"] == "SUCCESS")

    await wait_until(settled, within=15, step=0.1)


async def test_a_repeated_query_answers_fresh_and_a_repeated_pay_once(
    sandbox: RunningSandbox,
) -> None:
    """The identical-request ledger: 2.0 queries are read-only (a client with a fixed nonce, like
    the PHP demo's, sees the order change), a payment code is executed once."""
    created = await sandbox.agent(CREATE, jsapi_biz(sandbox, "V2-LEDGER", "wxpay"))
    assert created["result_code"] == 200, created
    query = {"merchant_order_sn": "V2-LEDGER"}
    before = await sandbox.agent(QUERY, query, nonce="12312")
    assert before["data"]["order_status"] == "USERPAYING"
    await play_payer(sandbox, created["data"]["order_sn"])

    async def fresh() -> bool:
        again = await sandbox.agent(QUERY, query, nonce="12312")
        return bool(again["data"]["order_status"] == "SUCCESS")

    await wait_until(fresh, within=15, step=0.1)

    biz = {
        "merchant_order_sn": "V2-LEDGER-PAY",
        "auth_code": "134567890123480000",
        "total_amount": "0.05",
    }
    first = await sandbox.agent(PAY, biz, nonce="same")
    second = await sandbox.agent(PAY, biz, nonce="same")
    assert first == second and first["result_code"] == 200, first


HOSTILE_VALUES: list[Any] = [
    None, "", " ", [], {}, True, -1, 0, 1e400, "1e400", "NaN", "-0.01", "0.001", "x" * 300,
    "\u0000", "\ud800", "<script>", 2**70, "１２３", [1, 2], {"a": {"b": 1}},
]  # fmt: skip
FIELDS = [
    "merchant_order_sn", "total_amount", "store_id", "cashier_id", "auth_code", "pay_type",
    "user_id", "notify_url", "body", "attach", "order_sn", "ins_order_sn", "refund_amount",
    "merchant_refund_sn", "refund_sn", "callback_url", "refund_callback_url", "return_url",
    "merchant_id",
]  # fmt: skip


async def test_hostile_business_fields_never_fail_the_gateway(sandbox: RunningSandbox) -> None:
    """Every 2.0 method with each field replaced by hostile values: always a well-formed
    failure envelope with a documented result_code, never SYSTEM_ERROR, never HTTP 500."""
    base = {
        "merchant_order_sn": "V2-HOSTILE",
        "total_amount": "0.01",
        "store_id": sandbox.info["store_id"],
        "auth_code": "134567890123490000",
        "pay_type": "wxpay",
        "user_id": sandbox.info["sub_open_id"],
        "refund_amount": "0.01",
        "refund_sn": "1",
        "callback_url": "https://merchant.example/pay",
    }
    allowed = {9996, 1004, 2, 60303, 400}
    methods = (PAY, CREATE, WAP, QUERY, CLOSE, REFUND, REFUND_QUERY, CALLBACK_CONFIG)
    turn = 0
    for method in methods:
        for name in FIELDS:
            # three values per method and field, in rotation: every value meets every field
            # across the methods, in a few hundred requests
            for value in (HOSTILE_VALUES[(turn + k) % len(HOSTILE_VALUES)] for k in range(3)):
                biz = {"merchant_id": sandbox.info["merchant_id"], **base, name: value}
                text = json.dumps(biz).replace("Infinity", "1e400")  # \ud800 escaped
                answer = await sandbox.agent(method, text)
                if answer["result_code"] == 200:
                    continue  # some values are fine for some fields (an empty body, ...)
                assert answer["result_code"] in allowed, (method, name, value, answer)
                assert answer["sub_code"] not in ("SYSTEM_ERROR", ""), (method, name, value)
                assert answer["result_message"], answer
            turn += 3


async def test_a_sandbox_made_before_2_0_gains_its_demo_vendor(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_sandbox(data_dir) as first:
        merchant_id = first.info["merchant_id"]
        await first.runtime.merchants.assign_vendor(merchant_id, None)
    info_file = data_dir / "sandbox.json"
    old = json.loads(info_file.read_text("utf-8"))
    for key in ("vendor_sn", "vendor_secret", "gateway_agent_url"):
        old.pop(key)
    info_file.write_text(json.dumps(old), "utf-8")

    async with running_sandbox(data_dir) as again:
        info = again.info
        assert info["app_id"] == old["app_id"] and info["merchant_id"] == merchant_id
        assert info["vendor_sn"] and info["gateway_agent_url"].endswith("/gateway/agent")
        saved = json.loads(info_file.read_text("utf-8"))
        assert saved["vendor_secret"] == info["vendor_secret"]
        answer = await again.agent(QUERY, {"merchant_order_sn": "none"})
        assert answer["sub_code"] == "ORDER_NOT_FOUND", answer  # the vendor acts for it


async def test_a_vendor_has_its_own_rate_budget(tmp_path: Path) -> None:
    async with running_sandbox(
        tmp_path / "data", rate_limit_per_second=0.01, rate_limit_burst=2
    ) as sandbox:
        answers = [await sandbox.agent(QUERY, {"merchant_order_sn": "x"}) for _ in range(3)]
        assert [a["sub_code"] for a in answers] == ["ORDER_NOT_FOUND"] * 2 + ["RATE_LIMITED"]
        assert answers[2]["result_code"] == 400
        # the merchant's app is not charged for its vendor's requests
        own = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": "x"})
        assert own["sub_code"] == "ORDER_NOT_FOUND", own


async def test_the_other_channel_of_close_refund_and_refund_query(sandbox: RunningSandbox) -> None:
    """The JSAPI test closes an Alipay order and refunds a WeChat one: here the reverse."""
    wx = await sandbox.agent(CREATE, jsapi_biz(sandbox, "V2-CLOSE-WX", "wxpay"))
    assert wx["result_code"] == 200, wx
    closed = await sandbox.agent(CLOSE, {"order_sn": wx["data"]["order_sn"]})
    assert closed["result_code"] == 200 and closed["data"]["order_status"] == "CLOSED", closed
    queried = await sandbox.agent(QUERY, {"merchant_order_sn": "V2-CLOSE-WX"})
    assert queried["data"]["order_status"] == "CLOSED"
    assert queried["data"]["is_can_part_refund"] == 0

    paid = await pay_by_code(sandbox, "V2-REFUND-ALI", code="280000000000020000", amount="2.00")
    # SUCCESS at once, also on PostgreSQL where Alipay's notification races the answer
    assert paid["data"]["pay_type"] == "alipay" and paid["data"]["order_status"] == "SUCCESS"
    refund = await sandbox.agent(
        REFUND,
        {"ins_order_sn": paid["data"]["order_sn"], "refund_amount": "0.50",
         "merchant_refund_sn": "ALI-R1"},
    )  # fmt: skip
    assert refund["result_code"] == 200, refund

    async def refunded() -> bool:
        answer = await sandbox.agent(REFUND_QUERY, {"merchant_refund_sn": "ALI-R1"})
        return bool(answer["data"]["refund_status"] == "REFUND_SUCCESS")

    await wait_until(refunded, within=15, step=0.1)
    answer = await sandbox.agent(REFUND_QUERY, {"refund_sn": refund["data"]["refund_sn"]})
    assert yuan(answer["data"]["refund_amount"]) == Decimal("0.50")
    assert yuan(answer["data"]["buyer_refund_amount"]) == Decimal("0.50")
    left = await sandbox.agent(QUERY, {"order_sn": paid["data"]["order_sn"]})
    assert left["data"]["is_can_part_refund"] == 1
