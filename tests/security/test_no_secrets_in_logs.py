"""No secret reaches a log: a full sandbox flow (order, payment, merchant notification with a
failed attempt, refund, admin API and console with the token, a secret rotated in the console,
refused requests, a forged WeChat notification) with every logger, uvicorn's included, captured
at the lowest level; then every record's formatted text (with tracebacks) is scanned for every
app secret, the admin token, the APIv3 key, the master key, private key material and every
``sign`` sent or received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from jubao.config import Settings
from jubao.observe.logs import _json_formatter
from jubao.sandbox import build_sandbox
from tests.notify.support import Answer, Receiver, running_receiver
from tests.support import fubei
from tests.support.servers import free_port

pytestmark = pytest.mark.slow

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class Capture(logging.Handler):
    """Every record as text, and as the JSON line ``JUBAO_LOG_FORMAT=json`` writes (with the
    request line's fields and the request id)."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.json = _json_formatter()
        self.texts: list[str] = []
        self.json_lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.json_lines.append(self.json.format(record))


@contextlib.contextmanager
def capture_everything() -> Iterator[Capture]:
    capture = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(1)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)


def open_uvicorn_loggers() -> None:
    """Other servers' logging config may have stopped uvicorn's loggers propagating: undo it."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.propagate = True
        logger.setLevel(1)


@contextlib.asynccontextmanager
async def serving_sandbox(data_dir: Path) -> AsyncIterator[tuple[str, Any, dict[str, Any]]]:
    port = free_port()
    settings = Settings.from_env(
        env={},
        data_dir=data_dir,
        port=port,
        notify_allow_private=True,
        notify_schedule=(0.05, 0.05, 0.05),
        maintenance_interval_seconds=0.05,
        log_level="DEBUG",
    )
    app, runtime, _simulator, info = await build_sandbox(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="trace", log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    open_uvicorn_loggers()
    try:
        yield f"http://127.0.0.1:{port}", runtime, info
    finally:
        server.should_exit = True
        await task


class Merchant:
    """Sends signed requests and remembers every sign it sent."""

    def __init__(self, http: httpx.AsyncClient, info: dict[str, Any]) -> None:
        self.http = http
        self.info = info
        self.signs: list[str] = []

    async def call(
        self, method: str, biz: dict[str, Any], *, app_id: str = "", secret: str = ""
    ) -> dict[str, Any]:
        params = fubei.envelope(
            app_id or self.info["app_id"], secret or self.info["app_secret"], method, biz
        )
        self.signs.append(params["sign"])
        answer = await self.http.post("/gateway", json=params)
        result: dict[str, Any] = answer.json()
        return result


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def run_flow(url: str, runtime: Any, info: dict[str, Any], receiver: Receiver) -> list[str]:
    """The whole flow; returns the signs that crossed the wire."""
    signs: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        merchant = Merchant(http, info)
        receiver.answer(Answer(body="fail"), Answer(body="success"))
        created = await merchant.call(
            "openapi.payment.order.mina",
            {
                "merchant_order_sn": "log-1",
                "sub_openid": info["demo_openid"],
                "total_fee": "0.02",
                "store_id": info["store_id"],
                "call_back_url": receiver.callback_url,
            },
        )
        assert created["result_code"] == 200, created
        paid = await http.post(
            "/sim/wechatpay/request-payment",
            json={"sign_params": created["data"]["sign_params"], "openid": info["demo_openid"]},
        )
        assert paid.status_code == 200, paid.text
        for _ in range(400):
            if any(hit.form.get("sign") for hit in receiver.hits[1:]):
                break
            await asyncio.sleep(0.025)
        assert len(receiver.hits) >= 2, "the notification was not delivered"
        signs += [hit.form["sign"] for hit in receiver.hits if hit.form.get("sign")]

        ref = {"merchant_order_sn": "log-1"}
        assert (await merchant.call("openapi.payment.order.query", ref))["result_code"] == 200
        refund = {**ref, "merchant_refund_sn": "log-r1", "refund_money": "0.01"}
        answer = await merchant.call("openapi.payment.order.refund", refund)
        assert answer["result_code"] == 200, answer
        refund_query = {**ref, "merchant_refund_sn": "log-r1"}
        assert (await merchant.call("openapi.payment.order.refund.query", refund_query))[
            "result_code"
        ] == 200
        wrong = await merchant.call("openapi.get.time", {}, secret="0" * 32)
        assert wrong["sub_code"] == "SIGN_ERROR"
        forged = await http.post("/channel/wechatpay/notify", content=b'{"id": "forged"}')
        assert forged.status_code >= 400

        token = info["admin_token"]
        listed = await http.get(
            "/admin/api/notifications", headers={"Authorization": f"Bearer {token}"}
        )
        assert listed.status_code == 200
        refused = await http.get(
            "/admin/api/notifications", headers={"Authorization": "Bearer not-the-token"}
        )
        assert refused.status_code == 401

        login_page = await http.get("/console/login")
        logged_in = await http.post(
            "/console/login",
            data={"csrf": csrf_of(login_page.text), "token": token, "next": "/console/"},
        )
        assert logged_in.status_code in (302, 303), logged_in.text[:300]
        merchants_page = await http.get("/console/merchants")
        assert merchants_page.status_code == 200
        rotated = await http.post(
            f"/console/apps/{info['app_id']}/rotate", data={"csrf": csrf_of(merchants_page.text)}
        )
        assert rotated.status_code == 200, rotated.text[:300]
        runtime.merchants.forget(info["app_id"])
        app = await runtime.merchants.app(info["app_id"])
        assert app is not None and app.app_secret != info["app_secret"]
        answer = await merchant.call("openapi.get.time", {}, secret=app.app_secret)
        assert answer["result_code"] == 200, answer
        signs += merchant.signs
    return signs


async def test_a_full_run_logs_no_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with capture_everything() as capture:
        async with running_receiver() as receiver, serving_sandbox(data_dir) as served:
            url, runtime, info = served
            signs = await run_flow(url, runtime, info, receiver)
            app_secrets = [app.app_secret for app in await runtime.merchants.list_apps()]
    keys = data_dir / "keys"
    private_pem = (keys / "sp_private_key.pem").read_text()
    private_body = "".join(private_pem.strip().splitlines()[1:-1])
    forbidden = {
        "app secret (original)": [info["app_secret"]],
        "app secret": app_secrets,
        "admin token": [info["admin_token"]],
        "APIv3 key": [json.loads((keys / "sp.json").read_text())["apiv3_key"]],
        "master key": [(keys / "master_key").read_text().strip()],
        "private key marker": ["PRIVATE KEY"],
        "private key material": [private_body[i : i + 40] for i in range(0, 400, 40)],
        "sign": signs,
    }
    texts = capture.texts + capture.json_lines
    # the capture is real: our loggers, httpx and uvicorn's access log all reached it
    assert len(texts) > 50
    # the gateway's request line, one per request, in both formats
    assert sum(text.startswith("INFO jubao.gateway.request gateway ") for text in texts) == 6
    request_lines = [
        json.loads(line) for line in capture.json_lines if '"jubao.gateway.request"' in line
    ]
    assert len(request_lines) == 6
    assert all(len(line["request_id"]) == 32 for line in request_lines)
    assert any("POST /gateway" in text and "uvicorn.access" in text for text in texts)
    assert any(text.startswith("INFO jubao.") for text in texts)
    assert len(signs) >= 8 and len(app_secrets) >= 1
    leaks = [
        (kind, text[:200])
        for kind, values in forbidden.items()
        for value in values
        if value
        for text in texts
        if value in text
    ]
    assert leaks == []
