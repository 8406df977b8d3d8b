"""Request ids: accepted or generated, echoed on every answer, on every log record of the request
(the gateway's request line and the channel calls included), never in a Fubei envelope."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jubao.observe.logs import _json_formatter
from tests.console.support import ConsoleWorld, build_world, client_for
from tests.ops.support import captured
from tests.support import fubei
from tests.support.sandbox import running_sandbox

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ConsoleWorld]:
    built = await build_world(tmp_path / "data")
    try:
        yield built
    finally:
        await built.runtime.stop()


@pytest.fixture
async def client(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(world) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/gateway"),
        ("GET", "/gateway/nowhere"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/console/login"),
        ("GET", "/console/"),
        ("GET", "/admin/api/notifications"),
        ("POST", "/channel/wechatpay/notify"),
        ("GET", "/no/such/page"),
    ],
)
async def test_every_answer_echoes_the_callers_id(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    answer = await client.request(method, path, headers={"X-Request-Id": "abc-123_XYZ.7"})
    assert answer.headers["x-request-id"] == "abc-123_XYZ.7"
    fresh = await client.request(method, path)
    assert GENERATED.fullmatch(fresh.headers["x-request-id"])


@pytest.mark.parametrize(
    "offered", ["x" * 129, "has space", 'quote"d', "tab\there", "中文", "back\\slash"]
)
async def test_an_unfit_id_is_replaced(client: httpx.AsyncClient, offered: str) -> None:
    answer = await client.post(
        "/gateway", content=b"{}", headers={b"X-Request-Id": offered.encode("utf-8")}
    )
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


async def test_failure_envelopes_keep_fubeis_shape(client: httpx.AsyncClient) -> None:
    answer = await client.post("/gateway", content=b"{", headers={"X-Request-Id": "r-1"})
    assert set(answer.json()) == {"result_code", "result_message", "sub_code"}
    assert "r-1" not in answer.text


async def test_the_request_line_names_the_request(
    world: ConsoleWorld, client: httpx.AsyncClient
) -> None:
    app = await world.runtime.merchants.app(world.app_id)
    assert app is not None
    biz = {
        "merchant_order_sn": "LINE-1",
        "sub_openid": "oPayer",
        "total_fee": "0.01",
        "store_id": world.store_id,
    }
    content = fubei.body(app.app_id, app.app_secret, "openapi.payment.order.mina", biz)
    with captured() as logs:
        answer = await client.post("/gateway", content=content, headers={"X-Request-Id": "req-9"})
        bad = await client.post(
            "/gateway",
            content=fubei.body(app.app_id, "wrong", "openapi.payment.order.query", biz),
            headers={"X-Request-Id": "req-10"},
        )
    assert answer.json()["result_code"] == 200, answer.text
    assert bad.json()["sub_code"] == "SIGN_ERROR"
    lines = logs.named("jubao.gateway.request")
    assert [line.request_id for line in lines] == ["req-9", "req-10"]  # type: ignore[attr-defined]
    first, second = (line.getMessage() for line in lines)
    for part in (
        "method=openapi.payment.order.mina",
        f"app_id={app.app_id}",
        "merchant_order_sn=LINE-1",
        "sub_code=SUCCESS",
        "gateway_ms=",
        "upstream_ms=",
        "request_id=req-9",
    ):
        assert part in first
    assert "sub_code=SIGN_ERROR" in second
    assert "merchant_order_sn=-" in second  # the biz content of an unsigned request is not read
    # every record made while serving the request carries its id
    during = [r for r in logs.records if r.request_id == "req-9"]  # type: ignore[attr-defined]
    assert len(during) >= 2  # the channel call and the request line at least
    assert any(r.name == "jubao.channel.calls" for r in during)


async def test_a_json_request_line_parses(world: ConsoleWorld, client: httpx.AsyncClient) -> None:
    formatter = _json_formatter()
    with captured() as logs:
        await client.post("/gateway", content=b"{", headers={"X-Request-Id": "json-1"})
    (line,) = logs.named("jubao.gateway.request")
    text = formatter.format(line)
    assert "\n" not in text
    parsed = json.loads(text)
    assert parsed["request_id"] == "json-1"
    assert parsed["sub_code"] == "INVALID_JSON"
    assert parsed["level"] == "info"
    assert parsed["logger"] == "jubao.gateway.request"
    assert {"method", "app_id", "merchant_order_sn", "gateway_ms", "upstream_ms"} <= set(parsed)
    assert parsed["event"].startswith("gateway ")


async def test_channel_calls_log_the_request_id(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox:
        with captured() as logs:
            content = fubei.body(
                sandbox.info["app_id"],
                sandbox.info["app_secret"],
                "openapi.payment.order.mina",
                {
                    "merchant_order_sn": "CALL-1",
                    "sub_openid": sandbox.info["demo_openid"],
                    "total_fee": "0.01",
                    "store_id": sandbox.info["store_id"],
                },
            )
            answer = await sandbox.http.post(
                "/gateway", content=content, headers={"X-Request-Id": "wx-call-1"}
            )
        assert answer.headers["x-request-id"] == "wx-call-1"
        assert answer.json()["result_code"] == 200, answer.text
        calls = [
            r
            for r in logs.named("jubao.channel.calls")
            if r.request_id == "wx-call-1"  # type: ignore[attr-defined]
        ]
        assert [r.getMessage().split()[:3] for r in calls] == [
            ["channel", "wechatpay", "create_payment"]
        ]


def test_a_bad_log_format_names_itself() -> None:
    from jubao.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="JUBAO_LOG_FORMAT"):
        Settings.from_env(env={"JUBAO_LOG_FORMAT": "xml"})
    assert Settings.from_env(env={"JUBAO_LOG_FORMAT": "JSON"}).log_format == "json"


def test_the_text_format_carries_the_request_id() -> None:
    from jubao.observe.logs import TEXT_FORMAT, install_request_ids, request_id_var

    install_request_ids()
    token = request_id_var.set("txt-1")
    try:
        record = logging.getLogger("jubao.test").makeRecord(
            "jubao.test", logging.INFO, __file__, 1, "hello", (), None
        )
    finally:
        request_id_var.reset(token)
    assert logging.Formatter(TEXT_FORMAT).format(record).endswith("[txt-1] hello")
