"""Bugs the fuzzer found, pinned as plain examples (each failed before its fix)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette

from jubao.config import Settings
from jubao.errors import InvalidParameter
from jubao.protocol import envelope, fields, jsonwire
from jubao.storage.database import Database
from jubao.web.admin import admin_routes
from tests.fuzz.harness import FuzzSandbox, Portal
from tests.fuzz.test_callback_fuzz import deliver, signed_headers
from tests.fuzz.test_gateway_fuzz import exercise
from tests.support import fubei


def test_an_answer_quoting_a_lone_surrogate_can_still_be_encoded() -> None:
    # A duplicate key "\ud800" was quoted in the message; encoding the answer raised
    # UnicodeEncodeError outside the gateway's error handling: an HTTP 500.
    text = jsonwire.dumps({"result_message": "重复的字段 \ud800"})
    assert text.encode("utf-8").endswith(b' \\ud800"}')
    assert json.loads(text) == {"result_message": "重复的字段 \ud800"}


def test_messages_quote_caller_text_bounded() -> None:
    with pytest.raises(jsonwire.JsonError) as caught:
        jsonwire.loads('{"' + "k" * 50_000 + '":1,"' + "k" * 50_000 + '":2}')
    assert len(str(caught.value)) < 100
    body = json.dumps({"app_id": "1", "method": "m", "biz_content": "{}", "sign": "x" * 32,
                       "sign_method": "s" * 60_000}).encode()  # fmt: skip
    with pytest.raises(InvalidParameter) as refused:
        envelope.parse_envelope(body)
    assert len(refused.value.message) < 100


@pytest.mark.parametrize("number", ["1e999999999", "-1e999999999", "1e-999999999", "9.9e1001"])
def test_numbers_with_absurd_exponents_are_refused_quickly(number: str) -> None:
    # {"store_id": 1e999999999} parsed as a three-digit Decimal, then int() of it took minutes
    # (and a top-level one went through format(value, "f"): a gigabyte of digits).
    started = time.perf_counter()
    with pytest.raises(jsonwire.JsonError):
        jsonwire.loads('{"store_id": ' + number + "}")
    assert time.perf_counter() - started < 0.5
    assert jsonwire.loads('{"a": 1e-320, "b": 1e308}')["b"] > 0  # ordinary extremes still parse


def test_a_lone_surrogate_in_a_business_text_is_a_parameter_error() -> None:
    # "\ud800" reached the database: PostgreSQL raised DataError, SQLite UnicodeEncodeError,
    # both answered SYSTEM_ERROR.
    with pytest.raises(InvalidParameter) as refused:
        fields.text({"order_sn": "\ud800"}, "order_sn", max_len=32)
    assert refused.value.sub_code == "INVALID_PARAMETER"


def test_a_nul_in_a_top_level_parameter_is_a_parameter_error() -> None:
    # {"app_id": "a\u0000b"} reached the app lookup: CharacterNotInRepertoireError on PostgreSQL.
    body = json.dumps({"app_id": "a\x00b", "method": "m", "biz_content": "{}", "sign": "x" * 32})
    with pytest.raises(InvalidParameter) as refused:
        envelope.parse_envelope(body.encode())
    assert "app_id" in refused.value.message


@pytest.mark.parametrize(
    "biz",
    [
        '{"order_sn":"\\ud800"}',
        '{"merchant_order_sn":"a\\udfffb"}',
        '{"order_sn":"1","order_sn":{"\\ud800":[],"\\ud800":""}}',
        '{"merchant_order_sn":"fz-x","sub_openid":"o","total_fee":"0.01","store_id":1e999999999}',
    ],
)
def test_found_requests_answer_cleanly_end_to_end(
    portal: Portal, fuzz_gateway: FuzzSandbox, biz: str
) -> None:
    for method in ("openapi.payment.order.query", "openapi.payment.order.mina"):
        body = fubei.body(fuzz_gateway.info["app_id"], fuzz_gateway.info["app_secret"], method, biz)
        answer = exercise(portal, fuzz_gateway, body)
        assert answer["result_code"] == 400, answer  # and never SYSTEM_ERROR (exercise)


@dataclass
class AdminOnly:
    """The admin API's context, with a database of its own identity: the wrong-token throttle
    is per database (``shared_throttle``), so the fuzzers' wrong tokens cannot throttle this
    test. None of these paths reaches the database."""

    settings: Settings
    db: Database


class NoDatabase:
    """Stands for the database on paths that must never reach it."""


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/admin/api/notifications/", 404),  # was a 307 redirect, before the token check
        ("GET", "/admin/api/orders", 404),  # was Starlette's plain-text 404
        ("GET", "/admin/api/notifications/%0A0", 404),  # a line break: past the `path` convertor
        ("GET", "/admin", 404),
        ("PUT", "/admin/api/notifications", 405),  # was a plain-text 405
        ("GET", "/admin/api/notifications/1/resend", 405),
    ],
)
def test_every_admin_path_answers_json_after_the_token_check(
    tmp_path: Path, method: str, path: str, status: int
) -> None:
    settings = Settings.from_env(env={}, data_dir=tmp_path, admin_token="t" * 24)
    app = Starlette(routes=admin_routes(AdminOnly(settings, cast(Database, NoDatabase()))))

    async def ask(authorization: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
            return await client.request(method, path, headers={"Authorization": authorization})

    reply = asyncio.run(ask("Bearer " + "t" * 24))
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert re.fullmatch(r"[A-Z_]+", reply.json()["error"]), reply.text
    refused = asyncio.run(ask("Bearer wrong"))
    assert (refused.status_code, refused.json()["error"]) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize("body", [b'{"a":' * 5000 + b"1" + b"}" * 5000, b"[" * 5000 + b"]" * 5000])
def test_a_signed_notification_nested_thousands_deep_is_refused(
    portal: Portal, fuzz_gateway: FuzzSandbox, body: bytes
) -> None:
    # Signed with WeChat's key, so verification passed; json.loads raised RecursionError, which
    # is no ValueError: it escaped the callback's handling (HTTP 500, a traceback in the log).
    status, reply = deliver(portal, fuzz_gateway, body, signed_headers(fuzz_gateway, body))
    assert status == 400, reply
    assert "嵌套过深" in json.loads(reply)["message"]
