"""An answer's head and body leave in one write (jubao.web.corking): the transport's rules, and
uvicorn really writing through it when it serves the way ``jubao serve`` and the sandbox do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from tests.support.servers import listening_socket

from jubao.web import corking
from jubao.web.corking import PROTOCOL, CorkedHttpToolsProtocol, CorkedTransport


class Wire:
    """The real transport's side: what was written, and whether it is closing."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.events: list[str] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.events.append("close")
        self.closing = True

    def write_eof(self) -> None:
        self.events.append("eof")

    def abort(self) -> None:
        self.events.append("abort")
        self.closing = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def corked() -> tuple[CorkedTransport, Wire]:
    wire = Wire()
    return CorkedTransport(wire, asyncio.get_running_loop()), wire  # type: ignore[arg-type]


async def test_writes_within_one_turn_leave_as_one_in_order() -> None:
    transport, wire = corked()
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"{}")
    assert wire.writes == []
    await asyncio.sleep(0)
    assert wire.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    transport.write(b"next")  # a later turn: its own write
    await asyncio.sleep(0)
    assert wire.writes[1:] == [b"next"]


async def test_a_large_write_is_not_held() -> None:
    transport, wire = corked()
    transport.write(b"head")
    transport.write(b"x" * corking.FLUSH_BYTES)
    assert wire.writes == [b"head" + b"x" * corking.FLUSH_BYTES]
    await asyncio.sleep(0)
    assert len(wire.writes) == 1


async def test_close_and_eof_write_what_is_held_first_abort_drops_it() -> None:
    transport, wire = corked()
    transport.write(b"bye")
    transport.write_eof()
    assert wire.writes == [b"bye"] and wire.events == ["eof"]
    transport.write(b"last")
    transport.close()
    assert wire.writes == [b"bye", b"last"] and wire.events == ["eof", "close"]

    transport, wire = corked()
    transport.write(b"never")
    transport.abort()
    await asyncio.sleep(0)
    assert wire.writes == [] and wire.events == ["abort"]


async def test_nothing_is_written_to_a_closing_transport_and_the_rest_is_passed_on() -> None:
    transport, wire = corked()
    transport.write(b"late")
    wire.closing = True  # the peer went away before the turn ended
    await asyncio.sleep(0)
    assert wire.writes == []
    assert transport.is_closing() is True
    assert transport.get_extra_info("peername") == "info:peername"


# ---- served by uvicorn --------------------------------------------------------------------------


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A small answer in one turn, or a streamed one (``/stream``) with pauses between parts."""
    assert scope["type"] == "http"
    message = await receive()
    if scope["path"] == "/size":  # the body's length, read whole
        size = len(message.get("body", b""))
        while message.get("more_body"):
            message = await receive()
            size += len(message.get("body", b""))
        text = str(size).encode()
        headers = [(b"content-length", str(len(text)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": text})
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a", b"b", b"c"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


@contextlib.asynccontextmanager
async def served() -> AsyncIterator[tuple[str, uvicorn.Server]]:
    sock = listening_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="off", http=PROTOCOL)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve([sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_uvicorn_writes_each_small_answer_once(monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[bytes] = []
    flush = CorkedTransport.flush

    def counted(self: CorkedTransport) -> None:
        written.extend(self._held)
        if self._held:
            written.append(b"|")  # one real write ends here
        flush(self)

    monkeypatch.setattr(CorkedTransport, "flush", counted)
    async with served() as (url, server), httpx.AsyncClient() as client:
        for _ in range(3):  # one kept-alive connection
            answer = await client.get(url + "/x")
            assert answer.json() == {"ok": True}
        (connection,) = server.server_state.connections
        assert isinstance(connection, CorkedHttpToolsProtocol)
        streamed = await client.get(url + "/stream")
        assert streamed.content == b"abc"
    writes = b"".join(written).split(b"|")[:-1]
    assert len(writes) >= 3 + 2  # three answers, then a stream sent as it is produced
    for write in writes[:3]:  # head and body together
        assert write.startswith(b"HTTP/1.1 200 OK\r\n") and write.endswith(b'{"ok":true}')
    assert not writes[3].endswith(b"0\r\n\r\n")  # the stream's head left before its end


async def _exchange(url: str, *parts: bytes) -> bytes:
    """Each part written once the server has answered the one before (a 100 Continue, say); then
    everything the server sends until it closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        received = b""
        for index, part in enumerate(parts):
            writer.write(part)
            if index < len(parts) - 1:
                received += await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        return received + await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_uvicorns_own_writes_and_pipelined_answers_leave_whole_and_in_order() -> None:
    """What uvicorn writes itself (a 100 Continue the request waits for, a 400 before closing)
    is not held back, and answers to pipelined requests keep their order."""
    get = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"
    post = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
    last = b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    async with served() as (url, _):
        pipelined = await _exchange(url, get + post + last)
        expect = b"POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
        continued = await _exchange(url, expect + b"Connection: close\r\n\r\n", b"{}")
        refused = await _exchange(url, b"NOT HTTP\r\n\r\n")
    assert pipelined.count(b"HTTP/1.1 200 OK\r\n") == 3 and pipelined.endswith(b'{"ok":true}')
    assert pipelined.count(b'{"ok":true}') == 3
    assert continued.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert continued.endswith(b'{"ok":true}')
    assert refused.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert refused.endswith(b"Invalid HTTP request received.")


async def _written_slowly(url: str, parts: list[bytes]) -> bytes:
    """Each part in its own write, a little apart; then what the server sends until it closes."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.01)
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionError:  # refused while still writing: what it said is already read
        return b""
    finally:
        writer.close()


async def test_a_request_head_is_bounded_its_body_is_not_taken_for_one() -> None:
    """httptools itself sets no limit on a head: one over 16 KiB, whether it comes in one write
    or header by header, is refused; a large body that arrives with its head is read."""
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    start = b"GET /x HTTP/1.1\r\nHost: t\r\n"
    async with served() as (url, _):
        at_once = await _exchange(url, start + line * 40)  # 40 KiB, no end
        slowly = await _written_slowly(url, [start] + [line] * 40)
        body = b"b" * 1_000_000
        head = b"POST /size HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        sized = await _exchange(url, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        small = await _exchange(url, start + line * 10 + b"Connection: close\r\n\r\n")
    assert at_once.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert at_once.endswith(b"Request head too large")
    assert slowly == b"" or slowly.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert sized.startswith(b"HTTP/1.1 200 OK\r\n") and sized.endswith(b"1000000")
    assert small.startswith(b"HTTP/1.1 200 OK\r\n")  # 10 KiB of headers: under the bound
