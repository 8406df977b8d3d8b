"""Every WeChat scene end to end: gateway -> real WeChat channel -> simulator over HTTP, with the
sandbox's test payment codes (decided by their last four digits, README "Sandbox payment codes")
and the sandbox payer (``jubao.sandbox_payer``) playing the customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import wait_for

from jubao.payments import repository as payment_repo
from jubao.payments.records import OrderRecord
from jubao.sandbox_payer import PayerRefusal, pay_order

SWIPE = "openapi.payment.order.swipe"
SCAN = "openapi.payment.order.scan"
REVERSE = "openapi.payment.order.reverse"
QUERY = "openapi.payment.order.query"
CLOSE = "openapi.payment.order.close"
REFUND = "openapi.payment.order.refund"


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        # 1111 confirms after 5 s * 0.2 = 1 s; the till waits 3 s before it reverses.
        simulator_overrides={"time_scale": 0.2},
        barcode_pay_timeout_seconds=3.0,
        barcode_poll_seconds=0.2,
        maintenance_interval_seconds=0.2,
    ) as running:
        yield running


def code(last_four: str) -> str:
    """A well-formed WeChat payment code (18 digits starting 10-15) with these last four."""
    return "13456789012345" + last_four


async def swipe(sandbox: RunningSandbox, sn: str, auth_code: str, fee: str = "2.50") -> Any:
    return await sandbox.call(
        SWIPE,
        {
            "merchant_order_sn": sn,
            "auth_code": auth_code,
            "total_fee": fee,
            "store_id": sandbox.info["store_id"],
            "body": "收银台",
        },
    )


async def state(sandbox: RunningSandbox, sn: str) -> str:
    answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
    assert answer["result_code"] == 200, answer
    trade_state: str = answer["data"]["trade_state"]
    return trade_state


async def order_of(sandbox: RunningSandbox, order_sn: str) -> OrderRecord:
    order = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None
    return order


async def play_payer(sandbox: RunningSandbox, order_sn: str) -> httpx.Response:
    order = await order_of(sandbox, order_sn)
    async with httpx.AsyncClient(timeout=10) as client:
        return await pay_order(client, sandbox.info["simulators_url"], order)


def test_the_test_codes_are_well_formed() -> None:
    for last in ("1111", "2222", "3333", "4444", "0000"):
        value = code(last)
        assert len(value) == 18 and value.startswith("13") and value.endswith(last)


async def test_an_ordinary_code_pays_at_once(sandbox: RunningSandbox) -> None:
    answer = await swipe(sandbox, "till-pay", code("5678"))
    assert answer["result_code"] == 200, answer
    assert answer["data"]["trade_state"] == "SUCCESS"
    assert await state(sandbox, "till-pay") == "SUCCESS"
    view = sandbox.simulator.transaction_state(answer["data"]["order_sn"])
    assert view["transaction"]["trade_type"] == "MICROPAY"


async def test_1111_waits_for_the_password_then_is_paid(sandbox: RunningSandbox) -> None:
    answer = await swipe(sandbox, "till-password", code("1111"))
    assert answer["result_code"] == 200, answer
    assert answer["data"]["trade_state"] == "USERPAYING"
    seen = await wait_for(lambda: state(sandbox, "till-password"), lambda s: s != "USERPAYING")
    assert seen == "SUCCESS"


async def test_the_sandbox_payer_enters_a_1111_password_at_once(sandbox: RunningSandbox) -> None:
    answer = await swipe(sandbox, "till-payer", code("1111"))
    assert answer["data"]["trade_state"] == "USERPAYING"
    paid = await play_payer(sandbox, answer["data"]["order_sn"])
    assert paid.status_code == 200, paid.text
    view = sandbox.simulator.transaction_state(answer["data"]["order_sn"])
    assert view["transaction"]["trade_state"] == "SUCCESS"
    assert await wait_for(lambda: state(sandbox, "till-payer"), lambda s: s == "SUCCESS") == (
        "SUCCESS"
    )


@pytest.mark.parametrize(
    ("last_four", "sub_code"),
    [("2222", "BALANCE_NOT_ENOUGH"), ("3333", "AUTH_CODE_INVALID")],
)
async def test_declined_codes_fail_with_a_stable_sub_code(
    sandbox: RunningSandbox, last_four: str, sub_code: str
) -> None:
    sn = f"till-declined-{last_four}"
    answer = await swipe(sandbox, sn, code(last_four))
    assert answer["result_code"] != 200, answer
    assert answer["sub_code"] == sub_code, answer
    assert await state(sandbox, sn) == "CLOSED"
    assert await swipe(sandbox, sn, code(last_four)) == answer  # an identical retry replays


async def test_4444_never_confirms_and_the_gateway_reverses_it(sandbox: RunningSandbox) -> None:
    answer = await swipe(sandbox, "till-walks-away", code("4444"))
    assert answer["data"]["trade_state"] == "USERPAYING"
    order_sn = answer["data"]["order_sn"]
    seen = await wait_for(
        lambda: state(sandbox, "till-walks-away"), lambda s: s == "REVOKED", within=20
    )
    assert seen == "REVOKED"
    view = sandbox.simulator.transaction_state(order_sn)
    assert view["transaction"]["trade_state"] == "REVOKED"


async def test_reverse_refunds_a_paid_code_payment(sandbox: RunningSandbox) -> None:
    answer = await swipe(sandbox, "till-reverse", code("9000"))
    assert answer["data"]["trade_state"] == "SUCCESS"
    reversed_ = await sandbox.call(REVERSE, {"merchant_order_sn": "till-reverse"})
    assert reversed_["result_code"] == 200, reversed_
    assert reversed_["data"]["trade_state"] in ("REVOKING", "REVOKED")
    assert await wait_for(lambda: state(sandbox, "till-reverse"), lambda s: s == "REVOKED") == (
        "REVOKED"
    )
    view = sandbox.simulator.transaction_state(answer["data"]["order_sn"])
    assert view["transaction"]["trade_state"] == "REVOKED"
    assert [item["amount"]["refund"] for item in view["refunds"]] == [250]
    again = await sandbox.call(REVERSE, {"merchant_order_sn": "till-reverse"})
    assert again["result_code"] == 200 and again["data"]["trade_state"] == "REVOKED"
    closed = await sandbox.call(CLOSE, {"merchant_order_sn": "till-reverse"})
    assert closed["sub_code"] == "CLOSE_NOT_SUPPORTED"


async def test_scan_then_the_payer_scans_the_qr_and_pays(sandbox: RunningSandbox) -> None:
    answer = await sandbox.call(
        SCAN,
        {
            "merchant_order_sn": "qr-pay",
            "type": 1,
            "total_fee": "3.00",
            "store_id": sandbox.info["store_id"],
            "call_back_url": "https://merchant.example/notify",
        },
    )
    assert answer["result_code"] == 200, answer
    assert answer["data"]["qr_code"].startswith("weixin://wxpay/bizpayurl?pr=")
    paid = await play_payer(sandbox, answer["data"]["order_sn"])
    assert paid.status_code == 200, paid.text
    assert await wait_for(lambda: state(sandbox, "qr-pay"), lambda s: s == "SUCCESS") == "SUCCESS"
    view = sandbox.simulator.transaction_state(answer["data"]["order_sn"])
    assert view["transaction"]["trade_type"] == "NATIVE"
    with pytest.raises(PayerRefusal):
        await play_payer(sandbox, answer["data"]["order_sn"])  # paid: nothing left to pay
    refund = await sandbox.call(REFUND, {"merchant_order_sn": "qr-pay", "refund_money": "1.00"})
    assert refund["result_code"] == 200, refund


async def test_a_scan_order_closes(sandbox: RunningSandbox) -> None:
    answer = await sandbox.call(
        SCAN,
        {
            "merchant_order_sn": "qr-close",
            "type": 1,
            "total_fee": "3.00",
            "store_id": sandbox.info["store_id"],
        },
    )
    assert answer["result_code"] == 200, answer
    closed = await sandbox.call(CLOSE, {"merchant_order_sn": "qr-close"})
    assert closed["result_code"] == 200, closed
    view = sandbox.simulator.transaction_state(answer["data"]["order_sn"])
    assert view["transaction"]["trade_state"] == "CLOSED"


async def test_the_console_shows_scenes_channels_the_qr_code_and_revoke_states(
    sandbox: RunningSandbox,
) -> None:
    from tests.console.support import log_in

    scan = await sandbox.call(
        SCAN,
        {"merchant_order_sn": "qr-console", "type": 1, "total_fee": "1.00",
         "store_id": sandbox.info["store_id"]},
    )  # fmt: skip
    swiped = await swipe(sandbox, "till-console", code("7000"))
    await sandbox.call(REVERSE, {"merchant_order_sn": "till-console"})
    await wait_for(lambda: state(sandbox, "till-console"), lambda s: s == "REVOKED")
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as admin:
        assert (await log_in(admin, sandbox.info["admin_token"])).status_code == 303
        listing = await admin.get("/console/orders", params={"scene": "native"})
        assert listing.text.count("data-order-sn=") == 1
        assert scan["data"]["order_sn"] in listing.text
        assert "扫码（顾客扫）" in listing.text and "微信支付" in listing.text
        barcode = await admin.get(
            "/console/orders", params={"scene": "barcode", "channel": "wechatpay"}
        )
        assert barcode.text.count("data-order-sn=") == 1
        revoked = await admin.get("/console/orders", params={"state": "REVOKED"})
        assert swiped["data"]["order_sn"] in revoked.text
        alipay = await admin.get("/console/orders", params={"channel": "alipay"})
        assert alipay.text.count("data-order-sn=") == 0

        detail = await admin.get(f"/console/orders/{scan['data']['order_sn']}")
        assert 'id="order-qr" src="data:image/svg+xml' in detail.text
        reversed_page = await admin.get(
            f"/console/orders/{swiped['data']['order_sn']}", headers={"Accept-Language": "en"}
        )
        assert "Reversing" in reversed_page.text and "Reversed" in reversed_page.text
        assert 'id="order-qr"' not in reversed_page.text


def test_the_qr_image_encodes_the_code_url() -> None:
    import segno  # the decoder side is not available: check the matrix segno would draw

    from jubao.web.console.qr import qr_image

    content = "weixin://wxpay/bizpayurl?pr=abcdefghij"
    row = {"scene": "native", "instruction": '{"qr_code":"' + content + '"}', "prepay_id": None}
    image = qr_image(row)
    expected = segno.make(content, error="m").svg_data_uri(scale=5, border=2)
    assert image == expected
    assert qr_image({**row, "scene": "mina"}) is None


async def test_auth_auth_round_trip_returns_open_id_and_sub_open_id(
    sandbox: RunningSandbox,
) -> None:
    from urllib.parse import parse_qs, urlsplit

    answer = await sandbox.call(
        "openapi.payment.auth.auth",
        {"url": "https://merchant.example/pay?x=1", "store_id": sandbox.info["store_id"]},
    )
    assert answer["result_code"] == 200, answer
    location = answer["data"]["authUrl"]
    assert location.startswith(f"{sandbox.url}/oauth/wechat?t=")
    seen: list[str] = []
    async with httpx.AsyncClient(timeout=10) as browser:
        while urlsplit(location).hostname != "merchant.example":
            seen.append(location)
            hop = await browser.get(location)
            assert hop.status_code == 302, (location, hop.text)
            location = hop.headers["location"]
            assert len(seen) < 10
    authorizes = [url for url in seen if "/connect/oauth2/authorize?" in url]
    assert [parse_qs(urlsplit(url).query)["appid"][0] for url in authorizes] == [
        sandbox.info["sp_appid"],
        sandbox.info["jsapi_sub_appid"],
    ]
    assert all(url.endswith("#wechat_redirect") for url in authorizes)
    assert all("scope=snsapi_base" in url for url in authorizes)
    params = parse_qs(urlsplit(location).query)
    assert params["x"] == ["1"]
    assert params["open_id"] == [sandbox.info["open_id"]]
    assert params["sub_open_id"] == [sandbox.info["sub_open_id"]]
    # then h5pay with that sub_open_id gives sign_params for the merchant's official account
    h5 = await sandbox.call(
        "openapi.payment.order.h5pay",
        {"merchant_order_sn": "h5-after-auth", "sub_open_id": params["sub_open_id"][0],
         "total_fee": "0.05", "store_id": sandbox.info["store_id"]},
    )  # fmt: skip
    assert h5["result_code"] == 200, h5
    assert h5["data"]["sign_params"]["appId"] == sandbox.info["jsapi_sub_appid"]
    paid = await sandbox.pay(h5["data"]["sign_params"], sandbox.info["sub_open_id"])
    assert paid.status_code == 200, paid.text
    assert await wait_for(lambda: state(sandbox, "h5-after-auth"), lambda s: s == "SUCCESS") == (
        "SUCCESS"
    )


@pytest.mark.parametrize(
    ("biz", "sub_code"),
    [
        ({"url": "javascript:alert(1)"}, "INVALID_PARAMETER"),
        ({"url": ""}, "MISSING_PARAMETER"),
        ({"url": "https://merchant.example/", "store_id": 999999}, "STORE_NOT_FOUND"),
    ],
)
async def test_auth_auth_refuses_bad_input(
    sandbox: RunningSandbox, biz: dict[str, Any], sub_code: str
) -> None:
    answer = await sandbox.call(
        "openapi.payment.auth.auth", {"store_id": sandbox.info["store_id"], **biz}
    )
    assert answer["result_code"] != 200 and answer["sub_code"] == sub_code, answer


async def test_a_forged_or_expired_oauth_hop_is_refused(sandbox: RunningSandbox) -> None:
    answer = await sandbox.call(
        "openapi.payment.auth.auth",
        {"url": "https://merchant.example/", "store_id": sandbox.info["store_id"]},
    )
    token = answer["data"]["authUrl"].split("t=", 1)[1]
    body, _, mac = token.partition(".")
    tail = "BB" if mac.endswith("AA") else "AA"  # always another MAC (1 in 4,096 ended in AA)
    forged = await sandbox.http.get("/oauth/wechat", params={"t": f"{body}.{mac[:-2]}{tail}"})
    assert forged.status_code == 400
    bad_code = await sandbox.http.get(
        "/oauth/wechat/back", params={"t": token, "hop": "sp", "code": "nope"}
    )
    assert bad_code.status_code == 502


@pytest.fixture
async def patient_sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    """A payer who never enters the 1111 password on their own and a till that waits a minute:
    only the console's payer page can pay, however slowly a loaded machine gets there."""
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        simulator_overrides={"password_seconds": 3600.0},
        barcode_pay_timeout_seconds=60.0,
        barcode_poll_seconds=0.2,
    ) as running:
        yield running


async def test_the_console_payer_page_pays_a_qr_and_enters_a_password(
    patient_sandbox: RunningSandbox,
) -> None:
    from tests.console.support import hidden, log_in

    sandbox = patient_sandbox

    scan = await sandbox.call(
        SCAN,
        {"merchant_order_sn": "qr-payer-page", "type": 1, "total_fee": "1.00",
         "store_id": sandbox.info["store_id"]},
    )  # fmt: skip
    swiped = await swipe(sandbox, "till-payer-page", code("1111"))
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as admin:
        assert (await log_in(admin, sandbox.info["admin_token"])).status_code == 303
        for order_sn, sn in (
            (scan["data"]["order_sn"], "qr-payer-page"),
            (swiped["data"]["order_sn"], "till-payer-page"),
        ):
            sheet = await admin.get(f"/console/pay/{order_sn}")
            assert 'id="pay-button"' in sheet.text
            paid = await admin.post(
                f"/console/pay/{order_sn}", data={"csrf": hidden(sheet.text, "csrf")}
            )
            assert paid.status_code == 303, paid.text
            assert await wait_for(partial(state, sandbox, sn), lambda s: s == "SUCCESS") == (
                "SUCCESS"
            )
