"""Every bad input gets HTTP 200 and a well-formed failure envelope with a stable sub_code."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import fubei
from tests.support.sandbox import RunningSandbox, running_sandbox

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        yield running


def assert_failure(answer: dict[str, Any], sub_code: str, mentions: str | None = None) -> None:
    assert answer["result_code"] == 400, answer
    assert answer["sub_code"] == sub_code, answer
    assert CJK.search(answer["result_message"]), answer
    assert "Traceback" not in answer["result_message"]
    if mentions is not None:
        assert mentions in answer["result_message"], answer


async def post_raw(sandbox: RunningSandbox, content: bytes, **headers: str) -> dict[str, Any]:
    answer = await sandbox.http.post(
        "/gateway", content=content, headers={"Content-Type": "application/json", **headers}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = answer.json()
    return result


def mina_biz(sandbox: RunningSandbox, **changes: Any) -> dict[str, Any]:
    biz = {
        "merchant_order_sn": "bad-input-1",
        "sub_openid": sandbox.info["demo_openid"],
        "total_fee": "0.01",
        "store_id": sandbox.info["store_id"],
    }
    biz.update(changes)
    return {key: value for key, value in biz.items() if value is not None}


@pytest.mark.parametrize(
    ("content", "sub_code"),
    [
        (b"{not json", "INVALID_JSON"),
        (b"[1, 2, 3]", "INVALID_JSON"),
        (b'"a string"', "INVALID_JSON"),
        (b"\xff\xfe\x00garbage", "INVALID_JSON"),
        (b'{"a": 1, "a": 2}', "INVALID_JSON"),
        (b"[" * 5000 + b"]" * 5000, "INVALID_JSON"),
        (b"{}", "MISSING_PARAMETER"),
        (b'{"app_id": "1", "method": "m", "biz_content": "{}"}', "MISSING_PARAMETER"),
    ],
    ids=["malformed", "array", "string", "not-utf8", "duplicate-keys", "deep", "empty", "no-sign"],
)
async def test_malformed_bodies(sandbox: RunningSandbox, content: bytes, sub_code: str) -> None:
    assert_failure(await post_raw(sandbox, content), sub_code)


async def test_empty_body(sandbox: RunningSandbox) -> None:
    assert_failure(await post_raw(sandbox, b""), "INVALID_JSON")


async def test_oversize_body_with_length_and_chunked(sandbox: RunningSandbox) -> None:
    big = json.dumps({"padding": "x" * 70_000}).encode()
    assert_failure(await post_raw(sandbox, big), "BODY_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 4096

    answer = await sandbox.http.post(
        "/gateway", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert_failure(answer.json(), "BODY_TOO_LARGE")


async def test_unknown_app_and_bad_signature(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    unknown = fubei.body("20990101000000000000", info["app_secret"], "openapi.get.time", {})
    assert_failure(await post_raw(sandbox, unknown), "APP_NOT_FOUND")
    wrong_secret = fubei.body(info["app_id"], "0" * 32, "openapi.get.time", {})
    assert_failure(await post_raw(sandbox, wrong_secret), "SIGN_ERROR")


async def test_non_ascii_sign(sandbox: RunningSandbox) -> None:
    params = fubei.envelope(
        sandbox.info["app_id"], sandbox.info["app_secret"], "openapi.get.time", {}
    )
    params["sign"] = "签名" * 16
    assert_failure(await post_raw(sandbox, json.dumps(params).encode()), "SIGN_ERROR")


async def test_unknown_sign_method_and_method(sandbox: RunningSandbox) -> None:
    answer = await sandbox.call("openapi.get.time", {}, sign_method="sha256")
    assert_failure(answer, "INVALID_SIGN_METHOD", "sign_method")
    answer = await sandbox.call("openapi.payment.order.teleport", {})
    assert_failure(answer, "METHOD_NOT_SUPPORTED")


async def test_biz_content_must_be_an_object_string(sandbox: RunningSandbox) -> None:
    for biz in ["[1]", "42", '"text"', "{oops", '{"a":1,"a":2}']:
        answer = await sandbox.call("openapi.payment.order.query", biz)
        assert_failure(answer, "INVALID_PARAMETER", "biz_content")
    # biz_content sent as an object instead of a string
    params = fubei.envelope(
        sandbox.info["app_id"], sandbox.info["app_secret"], "openapi.get.time", {}
    )
    raw = json.loads(json.dumps(params))
    raw["biz_content"] = {"a": 1}
    assert_failure(await post_raw(sandbox, json.dumps(raw).encode()), "INVALID_PARAMETER")


@pytest.mark.slow  # a sandbox per field case (22 on each database)
@pytest.mark.parametrize(
    ("changes", "sub_code", "field"),
    [
        ({"merchant_order_sn": None}, "MISSING_PARAMETER", "merchant_order_sn"),
        ({"sub_openid": None}, "MISSING_PARAMETER", "sub_openid"),
        ({"total_fee": None}, "MISSING_PARAMETER", "total_fee"),
        ({"store_id": None}, "MISSING_PARAMETER", "store_id"),
        ({"merchant_order_sn": "x" * 33}, "INVALID_PARAMETER", "merchant_order_sn"),
        ({"merchant_order_sn": " padded"}, "INVALID_PARAMETER", "merchant_order_sn"),
        ({"merchant_order_sn": ["a"]}, "INVALID_PARAMETER", "merchant_order_sn"),
        ({"sub_openid": "o" * 33}, "INVALID_PARAMETER", "sub_openid"),
        ({"total_fee": "0.001"}, "INVALID_AMOUNT", "total_fee"),
        ({"total_fee": 0}, "INVALID_AMOUNT", "total_fee"),
        ({"total_fee": -1}, "INVALID_AMOUNT", "total_fee"),
        ({"total_fee": "abc"}, "INVALID_AMOUNT", "total_fee"),
        ({"total_fee": "１.00"}, "INVALID_AMOUNT", "total_fee"),
        ({"total_fee": 100000000}, "INVALID_AMOUNT", "total_fee"),
        ({"total_fee": True}, "INVALID_AMOUNT", "total_fee"),
        ({"store_id": "abc"}, "INVALID_PARAMETER", "store_id"),
        ({"store_id": 1.5}, "INVALID_PARAMETER", "store_id"),
        ({"cashier_id": "x1"}, "INVALID_PARAMETER", "cashier_id"),
        ({"body": "b" * 129}, "INVALID_PARAMETER", "body"),
        ({"attach": "a" * 128}, "INVALID_PARAMETER", "attach"),
        ({"call_back_url": "ftp://x"}, "INVALID_PARAMETER", "call_back_url"),
        ({"call_back_url": "https://m.example/" + "p" * 256}, "INVALID_PARAMETER", "call_back_url"),
    ],
)
async def test_mina_field_validation(
    sandbox: RunningSandbox, changes: dict[str, Any], sub_code: str, field: str
) -> None:
    biz = mina_biz(sandbox, **{k: v for k, v in changes.items() if v is not None})
    for key, value in changes.items():
        if value is None:
            biz.pop(key)
    answer = await sandbox.call("openapi.payment.order.mina", biz)
    assert_failure(answer, sub_code, field)


async def test_store_and_cashier_must_belong(sandbox: RunningSandbox) -> None:
    directory = sandbox.runtime.merchants
    other = await directory.create_merchant("别家", "1900009999", "wx0000000000000001")
    other_store = await directory.create_store(other.merchant_id, "别家门店")
    other_cashier = await directory.create_cashier(other_store.store_id, "别家收银员")
    answer = await sandbox.call(
        "openapi.payment.order.mina", mina_biz(sandbox, store_id=other_store.store_id)
    )
    assert_failure(answer, "STORE_NOT_FOUND", "store_id")
    answer = await sandbox.call(
        "openapi.payment.order.mina", mina_biz(sandbox, cashier_id=other_cashier.cashier_id)
    )
    assert_failure(answer, "CASHIER_NOT_FOUND", "cashier_id")
    answer = await sandbox.call("openapi.payment.order.mina", mina_biz(sandbox, store_id=99999999))
    assert_failure(answer, "STORE_NOT_FOUND")


async def test_content_type_variants_and_chunked_body(sandbox: RunningSandbox) -> None:
    content = fubei.body(
        sandbox.info["app_id"], sandbox.info["app_secret"], "openapi.get.time", "{}"
    )
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ]:
        answer = await post_raw(sandbox, content, **{"Content-Type": content_type})
        assert answer["result_code"] == 200, answer

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 7):
            yield content[start : start + 7]

    streamed = await sandbox.http.post(
        "/gateway", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert streamed.json()["result_code"] == 200
    assert int(streamed.json()["data"]["time"]) > 1_700_000_000


async def test_optional_common_parameters_may_be_omitted(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    params = {
        "app_id": info["app_id"],
        "method": "openapi.get.time",
        "nonce": "1",
        "biz_content": "[]",
    }
    params["sign"] = fubei.md5_sign(params, info["app_secret"])
    answer = await post_raw(sandbox, json.dumps(params).encode())
    assert answer["result_code"] == 200, answer
