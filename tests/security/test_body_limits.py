"""Every inbound route bounds its body before buffering it (``web/bodies.py``).

Raw sockets, so the client controls the framing: an oversized ``Content-Length`` must be refused
before any body arrives, and an oversized chunked body must be refused while it is still
streaming (the client never finishes it: a route that buffers first would wait forever). A client
that disconnects mid-body must not produce a traceback in any log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.sandbox import RunningSandbox, running_sandbox

# path, content type, what an oversized body gets (status, marker in the body)
ROUTES = [
    ("/gateway", "application/json", 200, "BODY_TOO_LARGE"),
    ("/channel/wechatpay/notify", "application/json", 413, "body too large"),
    ("/console/login", "application/x-www-form-urlencoded", 413, ""),
]
IDS = ["gateway", "wechat-callback", "console-login"]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data", callback_max_body_bytes=32 * 1024, console_max_body_bytes=8 * 1024
    ) as running:
        yield running


async def connect(
    sandbox: RunningSandbox, path: str, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(sandbox.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {url.netloc}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, str]:
    """Status and body of the response, within 10 s (a route still waiting for the body fails)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await asyncio.wait_for(reader.readexactly(length), timeout=10) if length else b""
    return status, body.decode("utf-8", "replace")


@pytest.mark.parametrize(("path", "content_type", "status", "marker"), ROUTES, ids=IDS)
async def test_an_oversized_content_length_is_refused_before_the_body(
    sandbox: RunningSandbox, path: str, content_type: str, status: int, marker: str
) -> None:
    reader, writer = await connect(
        sandbox, path, {"Content-Type": content_type, "Content-Length": str(300 * 1024 * 1024)}
    )
    try:
        got_status, body = await read_answer(reader)
    finally:
        writer.close()
    assert got_status == status, body
    assert marker in body


@pytest.mark.parametrize(("path", "content_type", "status", "marker"), ROUTES, ids=IDS)
async def test_an_oversized_chunked_body_is_refused_while_streaming(
    sandbox: RunningSandbox, path: str, content_type: str, status: int, marker: str
) -> None:
    reader, writer = await connect(
        sandbox, path, {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
    )
    chunk = b"x" * 4096
    try:
        for _ in range(32):  # 128 KiB: over every limit above, and never terminated
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        got_status, body = await read_answer(reader)
    finally:
        writer.close()
    assert got_status == status, body
    assert marker in body


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize(("path", "content_type", "status", "marker"), ROUTES, ids=IDS)
async def test_a_client_leaving_mid_body_logs_no_traceback(
    sandbox: RunningSandbox, path: str, content_type: str, status: int, marker: str
) -> None:
    collect = Collect()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(collect)
    try:
        for framing in ({"Content-Length": "1000"}, {"Transfer-Encoding": "chunked"}):
            headers = {"Content-Type": content_type, **framing}
            _reader, writer = await connect(sandbox, path, headers)
            writer.write(b'5\r\n{"a":\r\n' if "Transfer-Encoding" in framing else b'{"a":')
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        await asyncio.sleep(0.5)  # let the server notice and finish the request
        # and the server still serves
        answer = await sandbox.http.post("/gateway", content=json.dumps({}).encode())
        assert answer.status_code == 200
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    tracebacks = [r for r in collect.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    assert not [r for r in collect.records if r.levelno >= logging.ERROR]
