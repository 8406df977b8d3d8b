"""Partner codepay, reverse, Native and official-account OAuth over HTTP, signed like a real
service provider (reference part 2, §2-4, §9, §11)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.simulator.conftest import World
from tests.simulator.support import (
    NOTIFY_URL,
    PREFIX,
    SP_APPID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    decrypt_notification,
    verify_signed,
)

PARTNER = "/v3/pay/partner/transactions"


def codepay_body(out_trade_no: str, auth_code: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sp_appid": SP_APPID,
        "sp_mchid": SP_MCHID,
        "sub_appid": SUB_APPID,
        "sub_mchid": SUB_MCHID,
        "description": "收银台",
        "out_trade_no": out_trade_no,
        "payer": {"auth_code": auth_code},
        "amount": {"total": 250, "currency": "CNY"},
        "scene_info": {"store_info": {"out_id": "1"}},
    }
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def native_body(out_trade_no: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sp_appid": SP_APPID,
        "sp_mchid": SP_MCHID,
        "sub_mchid": SUB_MCHID,
        "description": "扫码",
        "out_trade_no": out_trade_no,
        "notify_url": NOTIFY_URL,
        "amount": {"total": 300, "currency": "CNY"},
    }
    body.update(changes)
    return body


async def codepay(world: World, out_trade_no: str, auth_code: str, **changes: Any) -> Any:
    return await world.merchant.call(
        "POST", f"{PARTNER}/codepay", codepay_body(out_trade_no, auth_code, **changes)
    )


async def reverse(world: World, out_trade_no: str) -> Any:
    return await world.merchant.call(
        "POST",
        f"{PARTNER}/out-trade-no/{out_trade_no}/reverse",
        {"sp_mchid": SP_MCHID, "sub_mchid": SUB_MCHID},
    )


async def state_of(world: World, out_trade_no: str) -> dict[str, Any]:
    answer = await world.merchant.query(out_trade_no)
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


# ---- codepay ------------------------------------------------------------------------------------


async def test_an_ordinary_code_pays_at_once_with_a_signed_micropay_transaction(
    world: World,
) -> None:
    answer = await codepay(world, "till-0001", "134567890123456789")
    assert answer.status_code == 200, answer.text
    verify_signed(answer.headers, answer.content, world.sim)
    doc = answer.json()
    assert doc["trade_type"] == "MICROPAY"
    assert doc["trade_state"] == "SUCCESS"
    assert doc["amount"]["payer_total"] == 250
    assert re.fullmatch(r"\d{28}", doc["transaction_id"])
    assert doc["payer"]["sp_openid"].startswith("o")
    assert (await state_of(world, "till-0001"))["trade_state"] == "SUCCESS"
    await world.sim.idle()
    assert world.receiver.received == []  # code payments are never notified


async def test_1111_asks_for_the_password_then_pays_after_five_seconds(world: World) -> None:
    answer = await codepay(world, "till-0002", "134567890123451111")
    assert answer.status_code == 202, answer.text
    verify_signed(answer.headers, answer.content, world.sim)
    assert answer.json()["trade_state"] == "USERPAYING"
    assert (await state_of(world, "till-0002"))["trade_state"] == "USERPAYING"
    delay = world.sim.config.password_seconds * world.sim.config.time_scale
    assert world.sim.config.password_seconds == 5.0
    world.clock.advance(delay * 0.8)
    assert (await state_of(world, "till-0002"))["trade_state"] == "USERPAYING"
    # The password box is open: a reverse now is refused, to be tried again.
    refused = await reverse(world, "till-0002")
    assert (refused.status_code, refused.json()["code"]) == (403, "USERPAYING")
    world.clock.advance(delay * 0.3)
    paid = await state_of(world, "till-0002")
    assert paid["trade_state"] == "SUCCESS"
    assert paid["trade_type"] == "MICROPAY"


async def test_the_payer_may_enter_the_password_at_once(world: World) -> None:
    assert (await codepay(world, "till-0003", "134567890123451111")).status_code == 202
    answer = await world.http.post(f"{PREFIX}/enter-password", json={"out_trade_no": "till-0003"})
    assert answer.status_code == 200, answer.text
    assert (await state_of(world, "till-0003"))["trade_state"] == "SUCCESS"
    again = await world.http.post(f"{PREFIX}/enter-password", json={"out_trade_no": "till-0003"})
    assert (again.status_code, again.json()["code"]) == (409, "NOT_WAITING")


@pytest.mark.parametrize(
    ("auth_code", "status", "code"),
    [
        ("134567890123452222", 403, "NOT_ENOUGH"),
        ("134567890123453333", 400, "AUTH_CODE_INVALID"),
        ("164567890123456789", 400, "AUTH_CODE_INVALID"),  # not WeChat's (starts 16)
        ("13456789012345678", 400, "AUTH_CODE_INVALID"),  # 17 digits
        ("286543210987654321", 400, "AUTH_CODE_INVALID"),  # an Alipay code
    ],
)
async def test_declined_codes_answer_wechats_codes_and_leave_no_order(
    world: World, auth_code: str, status: int, code: str
) -> None:
    answer = await codepay(world, "till-0004", auth_code)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    missing = await world.merchant.query("till-0004")
    assert missing.status_code == 404


async def test_4444_never_confirms_and_the_reverse_closes_it(world: World) -> None:
    assert (await codepay(world, "till-0005", "134567890123454444")).status_code == 202
    world.clock.advance(3600)
    assert (await state_of(world, "till-0005"))["trade_state"] == "USERPAYING"
    answer = await reverse(world, "till-0005")
    assert answer.status_code == 200, answer.text
    verify_signed(answer.headers, answer.content, world.sim)
    assert answer.json()["out_trade_no"] == "till-0005"
    assert (await state_of(world, "till-0005"))["trade_state"] == "REVOKED"
    assert (await reverse(world, "till-0005")).status_code == 200  # again: 200 again
    retry = await codepay(world, "till-0005", "134567890123454444")
    assert (retry.status_code, retry.json()["code"]) == (400, "ORDER_REVERSED")


async def test_reversing_a_paid_code_payment_refunds_it_in_full(world: World) -> None:
    assert (await codepay(world, "till-0006", "134567890123456789")).status_code == 200
    assert (await reverse(world, "till-0006")).status_code == 200
    doc = await state_of(world, "till-0006")
    assert doc["trade_state"] == "REVOKED"
    view = world.sim.transaction_state("till-0006")
    assert [(r["refund"] if "refund" in r else r["amount"]["refund"]) for r in view["refunds"]] == [
        250
    ]
    assert view["refunds"][0]["status"] == "SUCCESS"
    refund = await world.merchant.refund("till-0006", "R-after-reverse", 100, total=250)
    assert refund.status_code == 404  # nothing left to refund: the order is not paid any more


async def test_codepay_out_trade_no_rules(world: World) -> None:
    assert (await codepay(world, "till-0007", "134567890123451111")).status_code == 202
    again = await codepay(world, "till-0007", "134567890123451111")
    assert again.status_code == 202  # an identical retry while the password box is open
    other_code = await codepay(world, "till-0007", "134567890123459999")
    assert (other_code.status_code, other_code.json()["code"]) == (403, "TRADE_ERROR")
    reused = await codepay(world, "till-0008", "134567890123451111")
    assert (reused.status_code, reused.json()["code"]) == (400, "AUTH_CODE_INVALID")
    assert (await codepay(world, "till-0009", "134567890123450001")).status_code == 200
    paid = await codepay(world, "till-0009", "134567890123450001")
    assert (paid.status_code, paid.json()["code"]) == (400, "ORDERPAID")


@pytest.mark.parametrize(
    "changes",
    [
        {"notify_url": NOTIFY_URL},
        {"time_expire": "2030-01-01T10:00:00+08:00"},
        {"scene_info": None},
        {"scene_info": {"device_id": "POS1"}},
        {"payer": {}},
        {"amount": {"total": 0}},
    ],
)
async def test_codepay_refuses_malformed_bodies(world: World, changes: dict[str, Any]) -> None:
    answer = await codepay(world, "till-0010", "134567890123456789", **changes)
    assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR"), answer.text


async def test_reverse_refuses_unknown_and_non_code_orders_and_close_refuses_code_orders(
    world: World,
) -> None:
    unknown = await reverse(world, "nope-0001")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "ORDER_NOT_EXIST")
    assert (await world.merchant.prepay("jsapi-0001")).status_code == 200
    jsapi = await reverse(world, "jsapi-0001")
    assert (jsapi.status_code, jsapi.json()["code"]) == (403, "TRADE_ERROR")
    assert (await codepay(world, "till-0011", "134567890123454444")).status_code == 202
    closed = await world.merchant.close("till-0011")
    assert (closed.status_code, closed.json()["code"]) == (403, "TRADE_ERROR")


# ---- native -------------------------------------------------------------------------------------


async def test_native_answers_a_code_url_that_the_payer_scans_and_pays(world: World) -> None:
    answer = await world.merchant.call("POST", f"{PARTNER}/native", native_body("qr-0001"))
    assert answer.status_code == 200, answer.text
    verify_signed(answer.headers, answer.content, world.sim)
    code_url = answer.json()["code_url"]
    assert re.fullmatch(r"weixin://wxpay/bizpayurl\?pr=[0-9A-Za-z]{10}", code_url)
    same = await world.merchant.call("POST", f"{PARTNER}/native", native_body("qr-0001"))
    assert same.json()["code_url"] == code_url  # an identical retry: the live code_url
    changed = await world.merchant.call(
        "POST", f"{PARTNER}/native", native_body("qr-0001", description="改了")
    )
    assert (changed.status_code, changed.json()["code"]) == (403, "OUT_TRADE_NO_USED")
    assert (await state_of(world, "qr-0001"))["trade_state"] == "NOTPAY"
    paid = await world.http.post(f"{PREFIX}/scan-and-pay", json={"code_url": code_url})
    assert paid.status_code == 200, paid.text
    doc = await state_of(world, "qr-0001")
    assert (doc["trade_state"], doc["trade_type"]) == ("SUCCESS", "NATIVE")
    await world.receiver.wait_for(1)
    _, event = decrypt_notification(world.receiver.received[0].content)
    assert (event["trade_type"], event["trade_state"]) == ("NATIVE", "SUCCESS")
    twice = await world.http.post(f"{PREFIX}/scan-and-pay", json={"code_url": code_url})
    assert (twice.status_code, twice.json()["code"]) == (409, "ORDER_PAID")


async def test_a_native_code_expires_after_two_hours_and_refuses_a_payer(world: World) -> None:
    answer = await world.merchant.call("POST", f"{PARTNER}/native", native_body("qr-0002"))
    code_url = answer.json()["code_url"]
    world.clock.advance(2 * 3600 + 1)
    late = await world.http.post(f"{PREFIX}/scan-and-pay", json={"code_url": code_url})
    assert (late.status_code, late.json()["code"]) == (400, "CODE_URL_EXPIRED")
    unknown = await world.http.post(
        f"{PREFIX}/scan-and-pay", json={"code_url": "weixin://wxpay/bizpayurl?pr=nothing123"}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (400, "CODE_URL_INVALID")


async def test_native_refuses_a_payer(world: World) -> None:
    answer = await world.merchant.call(
        "POST", f"{PARTNER}/native", native_body("qr-0003", payer={"sp_openid": "o123"})
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR")


# ---- official-account OAuth ---------------------------------------------------------------------


async def test_oauth_authorizes_at_once_and_exchanges_the_code_once(world: World) -> None:
    query = urlencode(
        {
            "appid": SUB_APPID,
            "redirect_uri": "https://merchant.example/back?x=1",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "abc123",
        }
    )
    answer = await world.http.get(f"{PREFIX}/connect/oauth2/authorize?{query}")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    params = parse_qs(location.query)
    assert (location.netloc, params["x"], params["state"]) == (
        "merchant.example",
        ["1"],
        ["abc123"],
    )
    code = params["code"][0]

    async def exchange(appid: str = SUB_APPID, **extra: str) -> dict[str, Any]:
        values = {"appid": appid, "secret": "s", "code": code}
        values.update({"grant_type": "authorization_code", **extra})
        got = await world.http.get(f"{PREFIX}/sns/oauth2/access_token?{urlencode(values)}")
        assert got.status_code == 200
        doc: dict[str, Any] = got.json()
        return doc

    assert (await exchange(grant_type="password"))["errcode"] == 40002
    assert (await exchange(appid=SP_APPID))["errcode"] == 40029  # bound to its appid
    doc = await exchange()
    assert re.fullmatch(r"o[0-9A-Za-z_-]{27}", doc["openid"])
    assert doc["scope"] == "snsapi_base"
    assert (await exchange())["errcode"] == 40163  # single-use
    # The same payer has another openid under the provider's app, and the same one again later.
    world_openid = doc["openid"]
    assert world_openid != (await _oauth_openid(world, SP_APPID))
    assert world_openid == (await _oauth_openid(world, SUB_APPID))


async def _oauth_openid(world: World, appid: str) -> str:
    query = urlencode(
        {
            "appid": appid,
            "redirect_uri": "https://merchant.example/back",
            "response_type": "code",
            "scope": "snsapi_base",
        }
    )
    answer = await world.http.get(f"{PREFIX}/connect/oauth2/authorize?{query}")
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    values = {"appid": appid, "code": code, "grant_type": "authorization_code", "secret": "x"}
    got = await world.http.get(f"{PREFIX}/sns/oauth2/access_token?{urlencode(values)}")
    openid: str = got.json()["openid"]
    return openid


@pytest.mark.parametrize(
    "changes",
    [
        {"appid": "wxunknown"},
        {"response_type": "token"},
        {"scope": "snsapi_login"},
        {"redirect_uri": "javascript:alert(1)"},
        {"state": "bad state!"},
    ],
)
async def test_oauth_authorize_refuses_bad_requests(world: World, changes: dict[str, str]) -> None:
    values = {
        "appid": SUB_APPID,
        "redirect_uri": "https://merchant.example/back",
        "response_type": "code",
        "scope": "snsapi_base",
        **changes,
    }
    answer = await world.http.get(f"{PREFIX}/connect/oauth2/authorize?{urlencode(values)}")
    assert answer.status_code == 400
    assert "location" not in answer.headers
