"""Helpers for the security tests: sign and post as any app of a running sandbox."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.support import fubei
from tests.support.sandbox import RunningSandbox

CJK = re.compile(r"[\u4e00-\u9fff]")


async def post_signed(
    running: RunningSandbox,
    app_id: str,
    secret: str,
    method: str = "openapi.get.time",
    biz: dict[str, Any] | None = None,
    **extra: str,
) -> dict[str, Any]:
    content = fubei.body(app_id, secret, method, biz or {}, **extra)
    return await post_body(running, content)


async def post_body(running: RunningSandbox, content: bytes) -> dict[str, Any]:
    answer = await running.http.post(
        "/gateway", content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def body_without(app_id: str, secret: str, drop: str, method: str = "openapi.get.time") -> bytes:
    """A correctly signed body lacking the parameter ``drop``."""
    params = fubei.envelope(app_id, secret, method, {})
    del params[drop], params["sign"]
    params["sign"] = fubei.md5_sign(params, secret)
    return json.dumps(params).encode()


def assert_failure(answer: dict[str, Any], sub_code: str) -> None:
    assert answer["result_code"] == 400, answer
    assert answer["sub_code"] == sub_code, answer
    assert CJK.search(answer["result_message"]), answer
