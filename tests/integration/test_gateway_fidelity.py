"""What real Fubei clients send reaches jubao the way they expect: every /gateway answer is an
envelope, form bodies, PHP's signature variants, get.time with any biz_content, free-text body
and attach, int(10) store and cashier ids. One SQLite sandbox per test (PostgreSQL adds nothing
here: no new storage)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from tests.support import fubei
from tests.support.sandbox import RunningSandbox, running_sandbox

CJK = re.compile(r"[\u4e00-\u9fff]")
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data") as running:
        yield running


def assert_failure(answer: dict[str, Any], sub_code: str, mentions: str = "") -> None:
    assert answer["result_code"] == 400, answer
    assert answer["sub_code"] == sub_code, answer
    assert CJK.search(answer["result_message"]), answer
    assert mentions in answer["result_message"], answer


async def post(sandbox: RunningSandbox, content: bytes, content_type: str) -> dict[str, Any]:
    answer = await sandbox.http.post(
        "/gateway", content=content, headers={"Content-Type": content_type}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


@pytest.mark.parametrize(
    ("method", "path", "sub_code"),
    [
        ("GET", "/gateway", "INVALID_HTTP_METHOD"),
        ("PUT", "/gateway", "INVALID_HTTP_METHOD"),
        ("DELETE", "/gateway", "INVALID_HTTP_METHOD"),
        ("POST", "/gateway/", "INVALID_PATH"),
        ("POST", "/gateway/foo", "INVALID_PATH"),
        ("GET", "/gateway/foo/bar", "INVALID_PATH"),
        ("GET", "/gateway/agent", "INVALID_HTTP_METHOD"),  # Open API 2.0: POST only, too
        ("POST", "/gateway/agent/", "INVALID_PATH"),
        ("POST", "/gateway/agent/x", "INVALID_PATH"),
    ],
)
async def test_every_answer_under_gateway_is_an_envelope(
    sandbox: RunningSandbox, method: str, path: str, sub_code: str
) -> None:
    answer = await sandbox.http.request(method, path, content=b"{}")
    assert answer.status_code == 200, (answer.status_code, answer.text)  # never 404/405/307
    assert answer.headers["content-type"].startswith("application/json")
    assert_failure(answer.json(), sub_code)
    if sub_code == "INVALID_HTTP_METHOD":
        assert answer.headers["allow"] == "POST"
    else:
        assert "POST /gateway" in answer.json()["result_message"]


async def test_form_bodies_are_accepted_with_the_same_signature(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    biz = {"merchant_order_sn": "form-1", "sub_openid": info["demo_openid"],
           "total_fee": "0.01", "store_id": info["store_id"], "body": "表单 a&b=c"}  # fmt: skip
    params = fubei.envelope(info["app_id"], info["app_secret"], "openapi.payment.order.mina", biz)
    created = await post(sandbox, urlencode(params).encode(), FORM)
    assert created["result_code"] == 200, created
    assert created["data"]["merchant_order_sn"] == "form-1"

    params = fubei.envelope(info["app_id"], info["app_secret"], "openapi.payment.order.query",
                            {"merchant_order_sn": "form-1"})  # fmt: skip
    queried = await post(sandbox, urlencode(params).encode(), FORM + "; charset=UTF-8")
    assert queried["data"]["body"] == "表单 a&b=c", queried

    params["nonce"] = "changed-after-signing"
    assert_failure(await post(sandbox, urlencode(params).encode(), FORM), "SIGN_ERROR")
    assert_failure(await post(sandbox, b"app_id&method", FORM), "INVALID_FORM")
    # a form sent as JSON (or the reverse) is refused cleanly, never guessed
    assert_failure(
        await post(sandbox, urlencode(params).encode(), "application/json"), "INVALID_JSON"
    )


async def test_a_php_sdk_request_verifies(sandbox: RunningSandbox) -> None:
    """As the PHP SDK builds it: keys lower-cased for the sign string, a boolean and a float
    printed as PHP prints them; and as third-party PHP clients skip empty() values ("0")."""
    info = sandbox.info
    body: dict[str, Any] = {
        "app_id": info["app_id"],
        "method": "openapi.get.time",
        "nonce": "12312",
        "version": 1.0,
        "Is_Test": True,
        "biz_content": "[]",
    }
    printed = {"app_id": info["app_id"], "method": "openapi.get.time", "nonce": "12312",
               "version": "1", "is_test": "1", "biz_content": "[]"}  # fmt: skip
    body["sign"] = md5_upper(
        "&".join(f"{k}={printed[k]}" for k in sorted(printed)) + info["app_secret"]
    )
    answer = await post(sandbox, json.dumps(body).encode(), "application/json")
    assert answer["result_code"] == 200, answer

    skipping = {"app_id": info["app_id"], "method": "openapi.get.time", "nonce": "77",
                "biz_content": "[]", "store_id": "0", "vendor_sn": ""}  # fmt: skip
    kept = {k: v for k, v in skipping.items() if v not in ("", "0")}
    skipping["sign"] = md5_upper(
        "&".join(f"{k}={kept[k]}" for k in sorted(kept)) + info["app_secret"]
    )
    answer = await post(sandbox, json.dumps(skipping).encode(), "application/json")
    assert answer["result_code"] == 200, answer


async def test_get_time_answers_whatever_biz_content_holds(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    for biz in ["", "{}", "[]", "[1, 2]", '"text"', "42", "null", "{oops", '{"a": {"b": 1}}']:
        answer = await sandbox.call("openapi.get.time", biz)
        assert answer["result_code"] == 200, (biz, answer)
        assert int(answer["data"]["time"]) > 1_700_000_000
    params = fubei.envelope(info["app_id"], info["app_secret"], "openapi.get.time", "{}")
    del params["biz_content"], params["sign"]
    params["sign"] = fubei.md5_sign(params, info["app_secret"])
    answer = await post(sandbox, json.dumps(params).encode(), "application/json")
    assert answer["result_code"] == 200, answer
    # other methods still need it
    params["method"] = "openapi.payment.order.query"
    del params["sign"]
    params["sign"] = fubei.md5_sign(params, info["app_secret"])
    answer = await post(sandbox, json.dumps(params).encode(), "application/json")
    assert_failure(answer, "MISSING_PARAMETER", "biz_content")


async def test_body_and_attach_are_free_text_and_ids_are_int10(sandbox: RunningSandbox) -> None:
    body, attach = "第一行\r\n第二行\t(含制表符)", "订单:123\n备注"
    created = await sandbox.mina("text-1", body=body, attach=attach)
    assert created["result_code"] == 200, created
    queried = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": "text-1"})
    assert (queried["data"]["body"], queried["data"]["attach"]) == (body, attach)

    assert_failure(await sandbox.mina("text-2", body="a\x00b"), "INVALID_PARAMETER", "body")
    # identifiers stay single-line
    assert_failure(await sandbox.mina("text-3\n"), "INVALID_PARAMETER", "merchant_order_sn")
    # int(10): ten digits at most, as a number or as a numeric string
    assert_failure(await sandbox.mina("id-1", store_id=9_999_999_999), "STORE_NOT_FOUND")
    assert_failure(
        await sandbox.mina("id-2", store_id="10000000000"), "INVALID_PARAMETER", "store_id"
    )
    assert_failure(await sandbox.mina("id-3", cashier_id=10**10), "INVALID_PARAMETER", "cashier_id")
    assert_failure(await sandbox.mina("id-4", cashier_id="9999999999"), "CASHIER_NOT_FOUND")
