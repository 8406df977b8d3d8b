"""``POST /gateway`` and ``/gateway/agent`` on the wire: the bytes a client sees from jubao's own
uvicorn protocol (``web/corking.py``), served as ``jubao serve`` serves (``_uvicorn_options``)
with a real runtime on SQLite, over raw HTTP/1.1 sockets.

These pin what the connection does today (answers and their headers, keep-alive, pipelining, a
body in pieces or too large, ``Expect: 100-continue``, the body's deadline, disconnects, the
keep-alive timeout, graceful shutdown), so that any faster path through the protocol must behave
the same way byte for byte where a client could tell."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jubao.channels.base import PaymentInstruction, PaymentRequest
from jubao.cli.servers import _uvicorn_options
from jubao.config import Settings
from jubao.runtime import build_runtime
from jubao.web.answer import json_response
from jubao.web.app import create_app
from tests.console.support import FakeChannel
from tests.support import fubei
from tests.support.servers import serve_uvicorn

pytestmark = pytest.mark.slow

LIMIT = 4096  # max_body_bytes of every server here
TOO_LARGE = "请求体超过 4 KiB 上限"  # web/bodies.py's message for LIMIT
GET_TIME = "openapi.get.time"
AGENT_QUERY = "fbpay.order.query"
HEX32 = re.compile(r"[0-9a-f]{32}")
TIMING = re.compile(r"\d+\.\d\dms")
HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")
# every header of a signed endpoint's answer today (their order is not pinned)
GATEWAY_HEADERS = sorted(
    ["date", "x-gateway-time", "x-upstream-time", "content-length", "content-type", "x-request-id"]
)


# ---- the served world ---------------------------------------------------------------------------


class GatedChannel(FakeChannel):
    """A channel whose ``create_payment`` (an ``order.mina``) says when it is entered and waits
    for ``gate`` when one is set: a gateway request held in flight for as long as a test wants."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        return await super().create_payment(request)


@dataclass
class Served:
    port: int
    server: uvicorn.Server
    channel: GatedChannel
    app_id: str
    secret: str
    store_id: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def signed(self, method: str = GET_TIME, biz: dict[str, Any] | None = None) -> bytes:
        return fubei.body(self.app_id, self.secret, method, biz or {})

    def mina(self, order: str) -> bytes:
        biz = {
            "merchant_order_sn": order,
            "sub_openid": "o-wire-test",
            "total_fee": "0.01",
            "store_id": self.store_id,
        }
        return self.signed("openapi.payment.order.mina", biz)


async def _slow(request: Request) -> Response:
    """A non-gateway route that takes ``?s=`` seconds to answer."""
    await asyncio.sleep(float(request.query_params.get("s", "0")))
    return json_response({"slept": True})


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, *, deadline: float = 30.0, **uvicorn_options: Any
) -> AsyncIterator[Served]:
    """A jubao app (gateway, health, a ``/slow`` route) on real uvicorn, with jubao's options."""
    settings = Settings.from_env(
        env={}, data_dir=tmp_path / "data", max_body_bytes=LIMIT, request_timeout_seconds=deadline
    )
    channel = GatedChannel()
    runtime = await build_runtime(settings, channel, maintenance=False)
    merchant = await runtime.merchants.create_merchant("线上商户", "1900000001", "wx0123456789")
    created = await runtime.merchants.create_app(merchant.merchant_id)
    store = await runtime.merchants.create_store(merchant.merchant_id, "一号店")
    app = create_app(runtime, [Route("/slow", _slow)])
    options = _uvicorn_options(settings)
    for chosen_here in ("host", "port", "lifespan"):
        del options[chosen_here]
    async with serve_uvicorn(app, **{**options, **uvicorn_options}) as (url, server):
        yield Served(
            int(url.rsplit(":", 1)[1]),
            server,
            channel,
            created.app.app_id,
            created.app.app_secret,
            store.store_id,
        )


# ---- raw HTTP/1.1 -------------------------------------------------------------------------------


def request(
    method: str,
    path: str,
    body: bytes = b"",
    headers: Sequence[str] = (),
    *,
    version: str = "HTTP/1.1",
    length: int | None = None,
) -> bytes:
    """One request's bytes; a ``Content-Length`` (``length``, else the body's) unless chunked."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1", *headers]
    chunked = any(line.lower().startswith("transfer-encoding:") for line in headers)
    if not chunked and (method == "POST" or body or length is not None):
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def post(path: str, body: bytes, *headers: str) -> bytes:
    return request("POST", path, body, ["Content-Type: application/json", *headers])


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass
class Answer:
    status_line: str
    headers: list[tuple[str, str]]  # lower-case names, in the order sent
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ")[1])

    def names(self) -> list[str]:
        return sorted(name for name, _ in self.headers)

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        assert len(values) <= 1, self.headers
        return values[0] if values else None

    def envelope(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.body)
        return payload


async def read_answer(reader: asyncio.StreamReader, within: float = 5.0) -> Answer:
    """Exactly one answer off the stream: head, then ``Content-Length`` bytes of body (every
    final answer here has one; an interim 1xx has no body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), within)
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        assert colon, line
        headers.append((name.lower(), value.strip()))
    answer = Answer(status_line, headers, b"")
    if answer.status >= 200:
        length = answer.header("content-length")
        assert length is not None, head
        answer.body = await asyncio.wait_for(reader.readexactly(int(length)), within)
    return answer


async def closed(reader: asyncio.StreamReader, within: float = 3.0) -> bool:
    """Whether the server ends the connection (EOF) within ``within`` seconds, sending nothing."""
    try:
        return await asyncio.wait_for(reader.read(1), within) == b""
    except TimeoutError:
        return False


async def still_open(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether nothing at all (no byte, no EOF) arrives for ``seconds``."""
    try:
        await asyncio.wait_for(reader.read(1), seconds)
    except TimeoutError:
        return True
    return False


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def assert_gateway_answer(answer: Answer, request_id: str | None = None) -> dict[str, Any]:
    """A signed endpoint's answer as today: 200, exactly its usual headers, a JSON envelope."""
    assert answer.status_line == "HTTP/1.1 200 OK"
    assert answer.names() == GATEWAY_HEADERS, answer.headers
    assert answer.header("content-length") == str(len(answer.body))
    assert answer.header("content-type") == "application/json;charset=UTF-8"
    assert TIMING.fullmatch(answer.header("x-gateway-time") or ""), answer.headers
    assert TIMING.fullmatch(answer.header("x-upstream-time") or ""), answer.headers
    assert HTTP_DATE.fullmatch(answer.header("date") or ""), answer.headers
    given = answer.header("x-request-id") or ""
    if request_id is None:
        assert HEX32.fullmatch(given), given
    else:
        assert given == request_id
    return answer.envelope()


def assert_time(answer: Answer, request_id: str | None = None) -> None:
    """The answer of a signed ``openapi.get.time``: success."""
    payload = assert_gateway_answer(answer, request_id)
    assert payload["result_code"] == 200, payload
    assert set(payload) == {"result_code", "result_message", "data"}


def assert_failure(answer: Answer, sub_code: str, message: str | None = None) -> dict[str, Any]:
    assert answer.status_line == "HTTP/1.1 200 OK"
    payload = answer.envelope()
    assert payload["result_code"] == 400 and payload["sub_code"] == sub_code, payload
    if message is not None:
        assert payload["result_message"] == message
    return payload


@contextlib.contextmanager
def captured_warnings() -> Iterator[list[logging.LogRecord]]:
    """Every record at WARNING or above, jubao's (the root) and uvicorn's (its own handlers)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# ---- 1. one answer, its headers -----------------------------------------------------------------


async def test_a_gateway_answer_and_its_headers(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, post("/gateway", served.signed(), "X-Request-Id: wire-test-1"))
        answer = await read_answer(reader)
        assert_time(answer, "wire-test-1")
        assert answer.header("server") is None and answer.header("connection") is None
        # an unacceptable id (a space in it; too long) is replaced by a fresh one; none: fresh
        for offered in ("has space", "x" * 129):
            await send(writer, post("/gateway", served.signed(), f"X-Request-Id: {offered}"))
            assert_time(await read_answer(reader))
        await send(writer, post("/gateway", served.signed()))
        assert_time(await read_answer(reader))
        writer.close()


async def test_an_agent_answer_and_its_headers(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed(AGENT_QUERY, {"merchant_order_sn": "no-such-order"})
        await send(writer, post("/gateway/agent", body, "X-Request-Id: agent-1"))
        answer = await read_answer(reader)
        payload = assert_gateway_answer(answer, "agent-1")
        # an unknown order: 2.0's failure envelope
        assert payload == {
            "result_code": 400,
            "result_message": "订单不存在",
            "sub_code": "ORDER_NOT_FOUND",
        }
        assert answer.header("server") is None and answer.header("connection") is None
        writer.close()


async def test_a_form_encoded_envelope_is_served_too(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        signed = fubei.envelope(served.app_id, served.secret, GET_TIME, {})
        form = urlencode(signed).encode()
        headers = ["Content-Type: application/x-www-form-urlencoded"]
        await send(writer, request("POST", "/gateway", form, headers))
        assert_time(await read_answer(reader))
        writer.close()


@pytest.mark.parametrize("framing", ["none", "zero"])
async def test_a_post_without_a_body_is_invalid_json(tmp_path: Path, framing: str) -> None:
    """No ``Content-Length`` at all, or ``Content-Length: 0``: 请求体为空."""
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        head = b"POST /gateway HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if framing == "zero":
            head += b"Content-Length: 0\r\n"
        await send(writer, head + b"\r\n")
        answer = await read_answer(reader)
        assert_gateway_answer(answer)
        assert_failure(answer, "INVALID_JSON", "请求体为空")
        await send(writer, post("/gateway", served.signed(), "X-Request-Id: after"))
        assert_time(await read_answer(reader), "after")
        writer.close()


async def test_the_first_of_two_request_ids_is_the_one(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed()
        await send(writer, post("/gateway", body, "X-Request-Id: one", "X-Request-Id: two"))
        assert_time(await read_answer(reader), "one")
        writer.close()


# ---- 2. keep-alive and closing ------------------------------------------------------------------


async def test_several_requests_on_one_connection_are_answered_in_turn(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        for turn in range(4):
            path = "/gateway/agent" if turn % 2 else "/gateway"
            method = AGENT_QUERY if turn % 2 else GET_TIME
            body = served.signed(method, {"merchant_order_sn": "x"} if turn % 2 else {})
            await send(writer, post(path, body, f"X-Request-Id: turn-{turn}"))
            assert_gateway_answer(await read_answer(reader), f"turn-{turn}")
        assert await still_open(reader, 0.2)
        writer.close()


async def test_connection_close_is_answered_then_closed(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, post("/gateway", served.signed(), "Connection: close"))
        answer = await read_answer(reader)
        assert answer.header("connection") == "close"
        assert answer.names() == sorted([*GATEWAY_HEADERS, "connection"])
        assert answer.envelope()["result_code"] == 200
        assert await closed(reader)
        writer.close()


@pytest.mark.parametrize("keep_alive", [False, True], ids=["plain", "keep-alive-asked"])
async def test_http_1_0_is_answered_then_closed(tmp_path: Path, keep_alive: bool) -> None:
    """An HTTP/1.0 request is answered with an HTTP/1.1 status line and ``connection: close``,
    then closed; today even when it asks for ``Connection: keep-alive`` (uvicorn's rule)."""
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        headers = ["Content-Type: application/json"]
        if keep_alive:
            headers.append("Connection: keep-alive")
        body = served.signed()
        await send(writer, request("POST", "/gateway", body, headers, version="HTTP/1.0"))
        answer = await read_answer(reader)
        assert answer.status_line == "HTTP/1.1 200 OK"
        assert answer.header("connection") == "close"
        assert answer.envelope()["result_code"] == 200
        assert await closed(reader)
        writer.close()


# ---- 3. pipelining ------------------------------------------------------------------------------


async def test_two_pipelined_gateway_requests_are_answered_in_order(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(
            writer,
            post("/gateway", served.signed(), "X-Request-Id: first")
            + post(
                "/gateway/agent",
                served.signed(AGENT_QUERY, {"merchant_order_sn": "x"}),
                "X-Request-Id: second",
            ),
        )
        assert_time(await read_answer(reader), "first")
        assert_gateway_answer(await read_answer(reader), "second")
        assert await still_open(reader, 0.2)
        writer.close()


async def test_three_mixed_pipelined_requests_are_answered_in_order(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(
            writer,
            post("/gateway", served.signed(), "X-Request-Id: one")
            + request("GET", "/healthz", headers=["X-Request-Id: two"])
            + post("/gateway", b"{not json", "X-Request-Id: three"),
        )
        first = await read_answer(reader)
        assert_time(first, "one")
        health = await read_answer(reader)
        assert health.status == 200 and health.header("x-request-id") == "two"
        assert json.loads(health.body) == {"status": "ok"}
        third = await read_answer(reader)
        assert_gateway_answer(third, "three")
        assert_failure(third, "INVALID_JSON")
        assert await still_open(reader, 0.2)
        writer.close()


async def test_twenty_pipelined_requests_in_one_write_come_back_in_order(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        burst = b"".join(
            post("/gateway", served.signed(), f"X-Request-Id: burst-{n}") for n in range(20)
        )
        await send(writer, burst)
        for n in range(20):
            assert_time(await read_answer(reader), f"burst-{n}")
        assert await still_open(reader, 0.2)
        writer.close()


async def test_a_pipelined_request_waits_for_the_one_in_flight(tmp_path: Path) -> None:
    """The second request (already received) is not answered before the first, still being
    processed; both then come back in request order."""
    async with running(tmp_path) as served:
        served.channel.gate = asyncio.Event()
        reader, writer = await served.connect()
        await send(
            writer,
            post("/gateway", served.mina("WIRE-PIPE-1"), "X-Request-Id: slow")
            + post("/gateway", served.signed(), "X-Request-Id: quick"),
        )
        await asyncio.wait_for(served.channel.entered.wait(), 5)
        assert await still_open(reader, 0.3)
        served.channel.gate.set()
        first = await read_answer(reader)
        assert assert_gateway_answer(first, "slow")["result_code"] == 200
        assert_time(await read_answer(reader), "quick")
        writer.close()


async def test_pipelined_after_connection_close_only_the_first_is_answered(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(
            writer,
            post("/gateway", served.signed(), "Connection: close", "X-Request-Id: only")
            + post("/gateway", served.signed(), "X-Request-Id: never"),
        )
        answer = await read_answer(reader)
        assert answer.header("x-request-id") == "only"
        assert answer.header("connection") == "close"
        with contextlib.suppress(ConnectionResetError):  # unread bytes may make it a reset
            assert await reader.read() == b""
        writer.close()


async def test_requests_pipelined_before_garbage_are_answered_then_refused(tmp_path: Path) -> None:
    """uvicorn wrote its 400 and closed at once: the requests before the refused bytes ran (an
    ``order.mina`` made its order) and their answers were dropped. Now they come first."""
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(
            writer,
            post("/gateway", served.signed(), "X-Request-Id: first")
            + post("/gateway", served.signed(), "X-Request-Id: second")
            + b"GARBAGE\r\n\r\n",
        )
        assert_time(await read_answer(reader), "first")
        assert_time(await read_answer(reader), "second")
        refused = await read_answer(reader)
        assert refused.status == 400 and refused.header("connection") == "close"
        assert await closed(reader)
        writer.close()


# ---- 4. bodies in pieces, too large, chunked ----------------------------------------------------


async def test_a_body_arriving_in_pieces_is_answered(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed()
        head = request(
            "POST", "/gateway", b"", ["Content-Type: application/json"], length=len(body)
        )
        await send(writer, head)
        third = len(body) // 3
        for piece in (body[:third], body[third : 2 * third], body[2 * third :]):
            await asyncio.sleep(0.05)
            assert await still_open(reader, 0.01)  # nothing answered before the whole body
            await send(writer, piece)
        assert_time(await read_answer(reader))
        writer.close()


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    tmp_path: Path,
) -> None:
    """BODY_TOO_LARGE comes back without a byte of the body sent; the connection stays open, and
    the body (if the client sends it after all) is skipped: the next request is served."""
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, request("POST", "/gateway", b"", length=LIMIT + 1))
        answer = await read_answer(reader)
        assert_gateway_answer(answer)
        assert_failure(answer, "BODY_TOO_LARGE", TOO_LARGE)
        assert answer.header("connection") is None
        await send(
            writer, b"x" * (LIMIT + 1) + post("/gateway", served.signed(), "X-Request-Id: after")
        )
        assert_time(await read_answer(reader), "after")
        writer.close()


async def test_a_declared_length_at_the_limit_is_read(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed()
        padded = body + b" " * (LIMIT - len(body))  # JSON allows trailing whitespace
        await send(writer, post("/gateway", padded))
        assert_time(await read_answer(reader))
        writer.close()


async def test_a_chunked_body_under_the_limit_is_answered(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed()
        headers = ["Content-Type: application/json", "Transfer-Encoding: chunked"]
        await send(writer, request("POST", "/gateway", b"", headers))
        for start in range(0, len(body), 100):
            await send(writer, chunk(body[start : start + 100]))
            await asyncio.sleep(0.01)
        await send(writer, b"0\r\n\r\n")
        assert_time(await read_answer(reader))
        await send(writer, post("/gateway", served.signed(), "X-Request-Id: next"))
        assert_time(await read_answer(reader), "next")
        writer.close()


async def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(tmp_path: Path) -> None:
    """Refused once past the limit, before the client finishes; what it sends after is skipped
    to the body's end, and the next request on the connection is served."""
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        headers = ["Content-Type: application/json", "Transfer-Encoding: chunked"]
        await send(writer, request("POST", "/gateway", b"", headers))
        for _ in range(LIMIT // 1024):
            await send(writer, chunk(b"x" * 1024))
        assert await still_open(reader, 0.1)  # at the limit: still reading
        await send(writer, chunk(b"x"))
        answer = await read_answer(reader)
        assert_gateway_answer(answer)
        assert_failure(answer, "BODY_TOO_LARGE", TOO_LARGE)
        await send(writer, chunk(b"y" * 100) + b"0\r\n\r\n")
        await send(writer, post("/gateway", served.signed(), "X-Request-Id: after"))
        assert_time(await read_answer(reader), "after")
        writer.close()


# ---- 5. Expect: 100-continue --------------------------------------------------------------------


async def test_expect_100_continue_is_answered_before_the_body(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed()
        headers = ["Content-Type: application/json", "Expect: 100-continue"]
        await send(writer, request("POST", "/gateway", b"", headers, length=len(body)))
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await send(writer, body)
        assert_time(await read_answer(reader))
        writer.close()


async def test_expect_100_continue_over_the_limit_gets_no_continue(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        headers = ["Content-Type: application/json", "Expect: 100-continue"]
        await send(writer, request("POST", "/gateway", b"", headers, length=LIMIT + 1))
        answer = await read_answer(reader)
        assert answer.status == 200  # the final answer first: no interim 100
        assert_failure(answer, "BODY_TOO_LARGE", TOO_LARGE)
        writer.close()


async def test_expect_100_continue_on_a_get_gets_no_continue(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, request("GET", "/gateway", headers=["Expect: 100-continue"]))
        answer = await read_answer(reader)
        assert answer.status == 200
        assert_failure(answer, "INVALID_HTTP_METHOD")
        writer.close()


# ---- 6. the body's deadline ---------------------------------------------------------------------


async def test_a_body_that_stops_coming_gets_timeout(tmp_path: Path) -> None:
    """TIMEOUT at the deadline; today the connection then stays open as any answered one (the
    keep-alive timer runs): the rest of the body is skipped and the next request served."""
    async with running(tmp_path, deadline=0.3, timeout_keep_alive=2) as served:
        reader, writer = await served.connect()
        body = served.signed()
        head = request(
            "POST", "/gateway", b"", ["Content-Type: application/json"], length=len(body)
        )
        started = time.monotonic()
        await send(writer, head + body[:10])
        answer = await read_answer(reader)
        took = time.monotonic() - started
        assert 0.25 <= took < 1.5, took
        assert_gateway_answer(answer)
        assert_failure(answer, "TIMEOUT", "读取请求体超时")
        assert answer.header("connection") is None
        assert await still_open(reader, 0.3)
        await send(writer, body[10:] + post("/gateway", served.signed(), "X-Request-Id: after"))
        assert_time(await read_answer(reader), "after")
        writer.close()


async def test_after_a_body_timeout_a_silent_connection_is_closed_at_keep_alive(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, deadline=0.3, timeout_keep_alive=1) as served:
        reader, writer = await served.connect()
        await send(writer, request("POST", "/gateway", b"{", length=100))
        answer = await read_answer(reader)
        assert_failure(answer, "TIMEOUT", "读取请求体超时")
        answered = time.monotonic()
        assert await closed(reader, 3)
        assert 0.8 <= time.monotonic() - answered <= 2.5
        writer.close()


async def test_processing_past_the_deadline_answers_timeout_and_the_next_is_served(
    tmp_path: Path,
) -> None:
    """TIMEOUT at the deadline while the work goes on; the exchange counts as answered: a
    pipelined request is served before that work ends, and its late outcome never reaches the
    wire."""
    async with running(tmp_path, deadline=0.3) as served:
        served.channel.gate = asyncio.Event()
        reader, writer = await served.connect()
        await send(
            writer,
            post("/gateway", served.mina("WIRE-LATE-1"), "X-Request-Id: late")
            + post("/gateway", served.signed(), "X-Request-Id: quick"),
        )
        answer = await read_answer(reader)
        assert_gateway_answer(answer, "late")
        message = "处理超时，结果未知：请用相同参数重试或查询订单状态"
        assert_failure(answer, "TIMEOUT", message)
        assert_time(await read_answer(reader), "quick")
        assert not served.channel.gate.is_set()  # the first request's work is still waiting
        served.channel.gate.set()
        assert await still_open(reader, 0.5)  # nothing more: its outcome is dropped
        await send(writer, post("/gateway", served.signed(), "X-Request-Id: after"))
        assert_time(await read_answer(reader), "after")
        writer.close()


# ---- 7. a client that goes away -----------------------------------------------------------------


async def test_a_client_gone_mid_body_logs_nothing_and_others_are_served(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        with captured_warnings() as records:
            reader, writer = await served.connect()
            headers = ["Content-Type: application/json", "Expect: 100-continue"]
            await send(writer, request("POST", "/gateway", b"", headers, length=500))
            # the 100 says the gateway is reading the body; then half of it, then gone
            assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
            await send(writer, b'{"app_id": "')
            writer.close()
            await writer.wait_closed()
            other_reader, other = await served.connect()
            await send(other, post("/gateway", served.signed()))
            assert_time(await read_answer(other_reader))
            other.close()
            await asyncio.sleep(0.1)
        assert records == []


async def test_a_client_gone_while_its_request_is_processed_logs_nothing(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        served.channel.gate = asyncio.Event()
        with captured_warnings() as records:
            _reader, writer = await served.connect()
            await send(writer, post("/gateway", served.mina("WIRE-GONE-1")))
            await asyncio.wait_for(served.channel.entered.wait(), 5)
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.1)
            served.channel.gate.set()  # the answer now has nobody to go to
            await asyncio.sleep(0.1)
            other_reader, other = await served.connect()
            await send(other, post("/gateway", served.signed()))
            assert_time(await read_answer(other_reader))
            other.close()
        assert records == []


# ---- 8. the keep-alive timeout ------------------------------------------------------------------


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(tmp_path: Path) -> None:
    async with running(tmp_path, timeout_keep_alive=1) as served:
        reader, writer = await served.connect()
        await send(writer, post("/gateway", served.signed()))
        assert_time(await read_answer(reader))
        answered = time.monotonic()
        assert await closed(reader, 3)
        assert 0.8 <= time.monotonic() - answered <= 2.5
        writer.close()


async def test_a_connection_in_use_stays_open_past_the_keep_alive_timeout(tmp_path: Path) -> None:
    async with running(tmp_path, timeout_keep_alive=1) as served:
        reader, writer = await served.connect()
        started = time.monotonic()
        turns = 0
        while time.monotonic() - started < 2.0:
            await send(writer, post("/gateway", served.signed(), f"X-Request-Id: t{turns}"))
            assert_time(await read_answer(reader), f"t{turns}")
            turns += 1
            await asyncio.sleep(0.4)
        assert turns >= 4
        writer.close()


async def test_slow_processing_is_not_cut_by_the_keep_alive_timeout(tmp_path: Path) -> None:
    async with running(tmp_path, timeout_keep_alive=1) as served:
        served.channel.gate = asyncio.Event()
        reader, writer = await served.connect()
        # an answered request first, so a keep-alive timer has been armed on this connection
        await send(writer, post("/gateway", served.signed()))
        assert_time(await read_answer(reader))
        await send(writer, post("/gateway", served.mina("WIRE-SLOW-1")))
        await asyncio.wait_for(served.channel.entered.wait(), 5)
        assert await still_open(reader, 1.5)
        served.channel.gate.set()
        answer = await read_answer(reader)
        payload = assert_gateway_answer(answer)
        assert payload["result_code"] == 200, payload
        # a non-gateway route, the same
        await send(writer, request("GET", "/slow?s=1.5"))
        slow = await read_answer(reader)
        assert slow.status == 200 and json.loads(slow.body) == {"slept": True}
        writer.close()


async def test_a_body_slower_than_the_keep_alive_timeout_is_not_cut(tmp_path: Path) -> None:
    async with running(tmp_path, timeout_keep_alive=1) as served:
        reader, writer = await served.connect()
        body = served.signed()
        head = request(
            "POST", "/gateway", b"", ["Content-Type: application/json"], length=len(body)
        )
        await send(writer, head)
        assert await still_open(reader, 1.5)
        await send(writer, body)
        assert_time(await read_answer(reader))
        writer.close()


# ---- 9. methods, paths, query strings -----------------------------------------------------------


async def test_get_gateway_is_refused_with_allow_post(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, request("GET", "/gateway", headers=["X-Request-Id: get-1"]))
        answer = await read_answer(reader)
        assert answer.status_line == "HTTP/1.1 200 OK"
        assert answer.names() == sorted(
            ["allow", "content-length", "content-type", "date", "x-request-id"]
        )
        assert answer.header("allow") == "POST"
        assert answer.header("x-request-id") == "get-1"
        assert answer.header("content-type") == "application/json;charset=UTF-8"
        assert_failure(answer, "INVALID_HTTP_METHOD", "/gateway 不支持 HTTP GET 请求，请使用 POST")
        writer.close()


@pytest.mark.parametrize("path", ["/gateway/foo", "/gateway/", "/gateway/agent/"])
async def test_an_unknown_path_under_gateway_is_invalid_path(tmp_path: Path, path: str) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, post(path, served.signed()))
        answer = await read_answer(reader)
        assert answer.names() == sorted(["content-length", "content-type", "date", "x-request-id"])
        served_paths = "POST /gateway、POST /gateway/agent"
        assert_failure(answer, "INVALID_PATH", f"接口地址 {path} 不存在，请使用 {served_paths}")
        writer.close()


@pytest.mark.parametrize("path", ["/gateway?x=1", "/gate%77ay"], ids=["query", "escaped"])
async def test_a_query_string_or_an_escape_is_still_the_gateway(tmp_path: Path, path: str) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, post(path, served.signed()))
        assert_time(await read_answer(reader))
        writer.close()


async def test_a_request_the_parser_refuses_gets_uvicorns_400_and_a_close(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        await send(writer, post("/gateway", served.signed()))
        assert_time(await read_answer(reader))
        await send(writer, b"GARBAGE\x01 /gateway HTTP/1.1\r\n\r\n")
        refused = await read_answer(reader)
        assert refused.status_line == "HTTP/1.1 400 Bad Request"
        assert refused.names() == sorted(["content-length", "content-type", "connection", "date"])
        assert refused.header("connection") == "close"
        assert refused.body == b"Invalid HTTP request received."
        assert await closed(reader)
        writer.close()


# ---- 10. too many connections -------------------------------------------------------------------


async def test_over_limit_concurrency_uvicorn_answers_503(tmp_path: Path) -> None:
    """uvicorn counts open connections: with a limit of 2, a request while two are open is
    refused with its plain 503, and that connection closed."""
    async with running(tmp_path, limit_concurrency=2) as served:
        first_reader, first = await served.connect()
        await send(first, post("/gateway", served.signed()))
        assert_time(await read_answer(first_reader))
        second_reader, second = await served.connect()
        await send(second, post("/gateway", served.signed()))
        refused = await read_answer(second_reader)
        assert refused.status_line == "HTTP/1.1 503 Service Unavailable"
        assert refused.body == b"Service Unavailable"
        assert refused.header("connection") == "close"
        assert await closed(second_reader)
        second.close()
        await second.wait_closed()
        await asyncio.sleep(0.1)
        await send(first, post("/gateway", served.signed()))
        assert_time(await read_answer(first_reader))
        first.close()


# ---- 11. graceful shutdown ----------------------------------------------------------------------


async def _shutdown_started(served: Served) -> None:
    """Begin uvicorn's shutdown and wait until it refuses new connections."""
    served.server.should_exit = True
    for _ in range(100):
        try:
            _reader, writer = await served.connect()
        except OSError:
            return
        writer.close()
        await asyncio.sleep(0.05)
    raise AssertionError("still accepting connections")


async def test_shutdown_lets_a_processing_request_finish(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        served.channel.gate = asyncio.Event()
        idle_reader, idle = await served.connect()
        await send(idle, post("/gateway", served.signed()))
        assert_time(await read_answer(idle_reader))
        reader, writer = await served.connect()
        await send(writer, post("/gateway", served.mina("WIRE-SHUTDOWN-1")))
        await asyncio.wait_for(served.channel.entered.wait(), 5)
        await _shutdown_started(served)
        assert await closed(idle_reader, 1)  # an idle connection is closed at once
        served.channel.gate.set()
        answer = await read_answer(reader)
        assert answer.names() == sorted([*GATEWAY_HEADERS, "connection"])
        assert answer.header("connection") == "close"
        assert answer.envelope()["result_code"] == 200
        assert await closed(reader)
        writer.close()
        idle.close()


async def test_shutdown_lets_a_request_still_sending_its_body_finish(tmp_path: Path) -> None:
    async with running(tmp_path) as served:
        reader, writer = await served.connect()
        body = served.signed()
        headers = ["Content-Type: application/json", "Expect: 100-continue"]
        await send(writer, request("POST", "/gateway", b"", headers, length=len(body)))
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        await _shutdown_started(served)
        await send(writer, body)
        answer = await read_answer(reader)
        assert answer.header("connection") == "close"
        assert answer.envelope()["result_code"] == 200
        assert await closed(reader)
        writer.close()
