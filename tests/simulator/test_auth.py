"""Inbound request authentication: the five-line message over the raw body, 5-minute skew."""

from __future__ import annotations

import json

from jubao.channels.simulator.v3.endpoint import signed_urls
from tests.simulator.conftest import World
from tests.simulator.support import PREFIX, SERIAL_NO, SP_MCHID, SUB_MCHID, prepay_body, rsa_sign


async def _assert_sign_error(answer_status: int, body: bytes) -> None:
    assert answer_status == 401, body
    assert json.loads(body)["code"] == "SIGN_ERROR"


async def test_tampered_body_is_refused(world: World) -> None:
    body = json.dumps(prepay_body()).encode()
    signed = json.dumps(prepay_body(amount={"total": 1})).encode()
    answer = await world.merchant.call(
        "POST", "/v3/pay/partner/transactions/jsapi", body, signed_body=signed
    )
    await _assert_sign_error(answer.status_code, answer.content)
    assert answer.headers["Request-ID"].endswith("-268443699")


async def test_raw_body_bytes_are_what_is_verified(world: World) -> None:
    # Any serialisation is fine as long as the signed bytes are the sent bytes.
    body = json.dumps(prepay_body(), indent=3, ensure_ascii=False).encode()
    answer = await world.merchant.call("POST", "/v3/pay/partner/transactions/jsapi", body)
    assert answer.status_code == 200, answer.text


async def test_stale_and_future_timestamps_are_refused(world: World) -> None:
    now = int(world.clock().timestamp())
    for timestamp in (now - 300, now + 300, now * 1000):
        answer = await world.merchant.call(
            "POST", "/v3/pay/partner/transactions/jsapi", prepay_body(), timestamp=timestamp
        )
        await _assert_sign_error(answer.status_code, answer.content)
    fresh = await world.merchant.call(
        "POST", "/v3/pay/partner/transactions/jsapi", prepay_body(), timestamp=now - 299
    )
    assert fresh.status_code == 200


async def test_header_mchid_must_match_the_body_and_serial(world: World) -> None:
    mismatch = await world.merchant.call(
        "POST", "/v3/pay/partner/transactions/jsapi", prepay_body(sp_mchid="1900000002")
    )
    await _assert_sign_error(mismatch.status_code, mismatch.content)
    unknown = await world.merchant.call(
        "POST", "/v3/pay/partner/transactions/jsapi", prepay_body(), mchid="1900000002"
    )
    await _assert_sign_error(unknown.status_code, unknown.content)
    serial = await world.merchant.call(
        "POST", "/v3/pay/partner/transactions/jsapi", prepay_body(), serial_no="ABCDEF"
    )
    await _assert_sign_error(serial.status_code, serial.content)
    query = await world.merchant.call(
        "GET",
        f"/v3/pay/partner/transactions/out-trade-no/x123456?sp_mchid=1900000002&sub_mchid={SUB_MCHID}",
    )
    await _assert_sign_error(query.status_code, query.content)


async def test_the_signed_url_is_the_path_as_sent_or_relative_to_the_mount(world: World) -> None:
    # A client given the host as WeChat's root signs the full path; one given the simulator's URL
    # as its API root signs the path relative to it, as it would sign /v3/... at WeChat.
    await world.merchant.prepay()
    path = (
        "/v3/pay/partner/transactions/out-trade-no/order-0001"
        f"?sp_mchid={SP_MCHID}&sub_mchid={SUB_MCHID}"
    )
    assert (await world.merchant.call("GET", path)).status_code == 200
    relative = await world.merchant.call("GET", path, signed_path=path)
    assert relative.status_code == 200, relative.text
    assert relative.json()["out_trade_no"] == "order-0001"


async def test_the_signed_url_still_covers_path_and_query(world: World) -> None:
    await world.merchant.prepay()
    await world.merchant.prepay("order-0002")
    path = (
        "/v3/pay/partner/transactions/out-trade-no/order-0001"
        f"?sp_mchid={SP_MCHID}&sub_mchid={SUB_MCHID}"
    )
    other = path.replace("order-0001", "order-0002")
    for signed_path in (
        PREFIX + path.split("?")[0],  # no query
        path.split("?")[0],  # relative, no query
        "/wechatpay" + path,  # part of the prefix
        "/sim/other" + path,  # another prefix
        "/sim" + path,
        PREFIX + PREFIX + path,
        other,  # another order, relative
        PREFIX + other,
        path.replace(f"sub_mchid={SUB_MCHID}", "sub_mchid=1900000102"),  # another query
    ):
        answer = await world.merchant.call("GET", path, signed_path=signed_path)
        await _assert_sign_error(answer.status_code, answer.content)


def test_signed_urls_strip_the_mount_prefix_only_as_whole_segments() -> None:
    scope = {"path": "/sim/wechatpay/v3/x", "root_path": "/sim/wechatpay", "query_string": b"a=1"}
    assert signed_urls(scope) == ("/sim/wechatpay/v3/x?a=1", "/v3/x?a=1")
    raw = {**scope, "raw_path": b"/sim/wechatpay/v3/%E4%B8%AD"}
    assert signed_urls(raw) == ("/sim/wechatpay/v3/%E4%B8%AD?a=1", "/v3/%E4%B8%AD?a=1")
    at_root = {"path": "/v3/x", "root_path": "", "raw_path": b"/v3/x", "query_string": b""}
    assert signed_urls(at_root) == ("/v3/x",)
    not_a_segment = {**scope, "raw_path": b"/sim/wechatpayx/v3/x", "query_string": b""}
    assert signed_urls(not_a_segment) == ("/sim/wechatpayx/v3/x",)


async def test_authorization_fields_in_any_order_all_required(world: World) -> None:
    body = json.dumps(prepay_body()).encode()
    ts = str(int(world.clock().timestamp()))
    url = PREFIX + "/v3/pay/partner/transactions/jsapi"
    signature = rsa_sign(f"POST\n{url}\n{ts}\nNONCE1\n{body.decode()}\n")
    fields = {
        "serial_no": SERIAL_NO,
        "timestamp": ts,
        "signature": signature,
        "nonce_str": "NONCE1",
        "mchid": SP_MCHID,
    }

    def header(items: dict[str, str]) -> str:
        return "WECHATPAY2-SHA256-RSA2048 " + ",".join(f'{k}="{v}"' for k, v in items.items())

    path = "/v3/pay/partner/transactions/jsapi"
    good = await world.merchant.call("POST", path, body, authorization=header(fields))
    assert good.status_code == 200, good.text
    for missing in fields:
        partial = {k: v for k, v in fields.items() if k != missing}
        answer = await world.merchant.call("POST", path, body, authorization=header(partial))
        await _assert_sign_error(answer.status_code, answer.content)
    wrong_scheme = await world.merchant.call(
        "POST", path, body, authorization=header(fields).replace("RSA2048", "RSA1024")
    )
    await _assert_sign_error(wrong_scheme.status_code, wrong_scheme.content)
    none = await world.http.post(PREFIX + path, content=body)
    await _assert_sign_error(none.status_code, none.content)


async def test_malformed_json_is_a_param_error(world: World) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        answer = await world.merchant.call("POST", "/v3/pay/partner/transactions/jsapi", body)
        assert answer.status_code == 400
        assert answer.json()["code"] == "PARAM_ERROR"
