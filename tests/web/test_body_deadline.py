"""A request body must be whole within ``corking.BODY_SECONDS`` of its head, on the lane and on
uvicorn's own cycle alike (uvicorn has no such bound: a body trickled a byte now and then held its
connection for ever). Real uvicorn on loopback, raw HTTP/1.1; the bound is shortened to 2 s."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jubao.web import corking
from jubao.web.corking import CorkedHttpToolsProtocol
from jubao.web.lane import LaneCycle
from tests.support.rawhttp import post
from tests.support.servers import serve_uvicorn

pytestmark = pytest.mark.slow

BOUND = 2.0
AS_JUBAO: dict[str, Any] = {
    "lifespan": "off",
    "access_log": False,
    "proxy_headers": False,
    "timeout_graceful_shutdown": 2,  # a request left waiting for its body does not hold the exit
}
PATHS = {"lane": b"/gateway", "uvicorn": b"/console/login"}


class Reader:
    """Reads each request's whole body, then answers with its length (after ``delay``); notes
    which cycle carried it and whether the client was gone first."""

    lane_paths = frozenset({b"/gateway"})

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        carrier = "lane" if type(send.__self__) is LaneCycle else "uvicorn"
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.seen.append((carrier, "disconnect"))
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await asyncio.sleep(self.delay)
        self.seen.append((carrier, f"body {size}"))
        answer = b"%d" % size
        headers = [(b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture(autouse=True)
def short_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corking, "BODY_SECONDS", BOUND)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), seconds) == b""
    except TimeoutError:
        return False


def protocol_of(server: Any) -> CorkedHttpToolsProtocol:
    (protocol,) = server.server_state.connections
    assert isinstance(protocol, CorkedHttpToolsProtocol)
    return protocol


@pytest.mark.parametrize("carrier", ["lane", "uvicorn"])
async def test_a_body_trickled_past_the_bound_is_cut_and_the_app_sees_the_client_gone(
    carrier: str,
) -> None:
    app = Reader()
    body = b"x" * 100
    async with asyncio.timeout(10), serve_uvicorn(app, **AS_JUBAO) as (url, _server):
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = post(PATHS[carrier], body)
        writer.write(raw[: len(raw) - len(body)])  # the whole head
        cut_after = None
        for sent in range(len(body)):  # a byte each 0.1 s: 10 s for what must be whole in 2
            writer.write(body[sent : sent + 1])
            if await closed_within(reader, 0.1):
                cut_after = sent
                break
        writer.close()
        await asyncio.sleep(0.1)
    assert cut_after is not None and 10 <= cut_after <= 40  # ~2 s of 0.1 s steps (and waits)
    assert app.seen == [(carrier, "disconnect")]


@pytest.mark.parametrize("carrier", ["lane", "uvicorn"])
async def test_a_body_in_pieces_within_the_bound_is_served_and_a_long_answer_is_not_cut(
    carrier: str,
) -> None:
    """The body comes in three pieces over 0.6 s of the 2 s; the app then takes 2.5 s more."""
    app = Reader(delay=2.5)
    body = b"y" * 90
    async with asyncio.timeout(10), serve_uvicorn(app, **AS_JUBAO) as (url, _server):
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = post(PATHS[carrier], body)
        head = len(raw) - len(body)
        for piece in (raw[: head + 30], raw[head + 30 : head + 60], raw[head + 60 :]):
            writer.write(piece)
            await asyncio.sleep(0.3)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n90"), 5)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert app.seen == [(carrier, "body 90")]


async def test_a_request_that_arrives_whole_arms_no_timer() -> None:
    app = Reader(delay=0.3)
    async with asyncio.timeout(10), serve_uvicorn(app, **AS_JUBAO) as (url, server):
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post(b"/gateway", b"{}") + post(b"/console/login", b"{}"))
        await asyncio.sleep(0.1)  # both read, the first being answered
        assert protocol_of(server)._body_timer is None
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n2"), 5)
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n2"), 5)
        writer.close()
    assert app.seen == [("lane", "body 2"), ("uvicorn", "body 2")]
