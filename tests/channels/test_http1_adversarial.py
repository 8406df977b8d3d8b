"""``jubao.http1.Http1Client`` against servers that misbehave on purpose (loopback, real sockets):
cancellation at every wait, a crowd of requests on a small pool, answers framed oddly, cut,
doubled or oversized, and a client closed under load. The pool's count must come back right,
no request may hang or be sent twice, and no connection may be left open."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import random
import socket
import ssl
import struct
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from jubao.http1 import Answer, AnswerTooLarge, Http1Client, Outbound
from jubao.httppool import parsed_url
from tests.notify.tls import self_signed
from tests.support.rawhttp import read_request
from tests.support.recording import ok, serving
from tests.support.servers import listening_socket

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Wire"], Awaitable[None]]


class Wire:
    """A bare server that runs ``script`` per connection and counts connections and requests."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.accepted = 0
        self.open = 0
        self.requests: list[bytes] = []
        self.all_closed = asyncio.Event()
        self.all_closed.set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.all_closed.clear()
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await self.script(reader, writer, self)
                await reader.read()  # until the client closes its end
        finally:
            writer.close()
            self.open -= 1
            if self.open == 0:
                self.all_closed.set()

    async def request(self, reader: asyncio.StreamReader) -> bytes:
        """The next request's target, recorded."""
        head, _ = await read_request(reader)
        target = head.split(b" ", 2)[1]
        self.requests.append(target)
        return target

    async def closed(self) -> None:
        """Every connection the client opened has been closed by it."""
        await asyncio.wait_for(self.all_closed.wait(), 5)


@contextlib.asynccontextmanager
async def wire(script: Script) -> AsyncIterator[tuple[str, Wire]]:
    server_side = Wire(script)
    async with serving(server_side.handle) as base:
        yield base, server_side


def answering(*answers: bytes, close: bool = False) -> Script:
    """Each request on a connection gets the next of ``answers`` (the last one repeated)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        for index in range(1_000):
            await w.request(reader)
            writer.write(answers[min(index, len(answers) - 1)])
            await writer.drain()
            if close:
                writer.close()
                return

    return script


def outbound(
    url: str, *, method: str = "GET", content: bytes = b"", timeout: float = 5
) -> Outbound:
    return Outbound(method, parsed_url(url), [("Accept", "application/json")], content, timeout)


def numbered() -> Script:
    """Answers each request with its own target as the body (a crossed answer shows)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        while True:
            target = await w.request(reader)
            writer.write(ok(target))
            await writer.drain()

    return script


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashing server or a middlebox does."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


def answering_when(go: asyncio.Event) -> Script:
    """A server script: each request is answered (its target as the body) once ``go`` is set."""

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        while True:
            target = await w.request(reader)
            await go.wait()
            writer.write(ok(target))
            await writer.drain()

    return held


async def fails_once(script: Script) -> Wire:
    """One request to a server running ``script`` fails as an unknown outcome, and the pool gives
    its slot back and closes what it opened."""
    async with wire(script) as (url, w):
        lean = Http1Client()
        with pytest.raises(httpx.RemoteProtocolError):
            await lean.send(outbound(url + "/x"))
        assert lean._count == 0
        await lean.aclose()
        await w.closed()
    return w


def idle(lean: Http1Client) -> int:
    return sum(len(connections) for connections in lean._idle.values())


# ---- cancellation at every wait -----------------------------------------------------------------


async def test_cancelled_while_waiting_for_a_slot_the_pool_stays_right() -> None:
    go = asyncio.Event()
    held = answering_when(go)

    async with wire(held) as (url, w):
        lean = Http1Client(connections=1)
        first = asyncio.create_task(lean.send(outbound(url + "/1")))
        await until(lambda: len(w.requests) == 1)
        waiting = asyncio.create_task(lean.send(outbound(url + "/2")))
        await until(lambda: len(lean._waiting) == 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert lean._count == 1
        go.set()
        assert (await first).content == b"/1"
        assert (lean._count, idle(lean)) == (1, 1)
        assert (await lean.send(outbound(url + "/3"))).content == b"/3"
        await lean.aclose()
        await w.closed()
    assert w.accepted == 1
    assert w.requests == [b"/1", b"/3"]
    assert lean._count == 0


@pytest.mark.parametrize("same_origin", [True, False])
async def test_cancelled_just_as_a_connection_or_slot_is_handed_over(same_origin: bool) -> None:
    """The request that finishes hands its connection (same origin) or its slot (another) to the
    waiter and the waiter is cancelled before it runs: neither may be lost."""
    go = asyncio.Event()
    held = answering_when(go)

    async with wire(held) as (url, w), wire(held) as (other, _):
        lean = Http1Client(connections=1)
        waiting: asyncio.Task[Answer] | None = None

        async def first_then_cancel() -> None:
            await lean.send(outbound(url + "/1"))
            assert waiting is not None
            waiting.cancel()  # in the same step as the hand-over: the waiter has not run

        first = asyncio.create_task(first_then_cancel())
        await until(lambda: len(w.requests) == 1)
        waiting = asyncio.create_task(lean.send(outbound((url if same_origin else other) + "/2")))
        await until(lambda: len(lean._waiting) == 1)
        go.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert lean._count == (1 if same_origin else 0)
        assert idle(lean) == lean._count
        assert (await lean.send(outbound(url + "/3"))).status_code == 200
        await lean.aclose()
        await w.closed()
    assert w.accepted == (1 if same_origin else 2)
    assert lean._count == 0


async def test_cancelled_or_timed_out_while_connecting_gives_the_slot_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TLS handshake the server never answers, a proxy that never answers CONNECT."""

    async def mute_script(reader: asyncio.StreamReader, _: asyncio.StreamWriter, w: Wire) -> None:
        await reader.read()

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    mute = Wire(mute_script)
    sock = listening_socket()
    server = await asyncio.start_server(mute.handle, sock=sock)
    port = sock.getsockname()[1]
    try:
        for proxied in (False, True):
            if proxied:
                monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
            lean = Http1Client(connections=1)
            request = outbound("https://a.b/x" if proxied else f"https://127.0.0.1:{port}/x")
            task = asyncio.create_task(lean.send(request))
            await until(lambda: mute.open == 1)
            await asyncio.sleep(0.02)  # the handshake or CONNECT is under way
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert lean._count == 0
            await mute.closed()
            short = Outbound(request.method, request.url, [], b"", 0.1)
            with pytest.raises(httpx.ConnectTimeout):
                await lean.send(short)
            assert lean._count == 0
            await mute.closed()
            await lean.aclose()
    finally:
        server.close()


async def test_cancelled_while_waiting_for_the_answer_closes_the_connection() -> None:
    async with wire(numbered()) as (url, w):
        lean = Http1Client(connections=1)

        async def silent(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire
        ) -> None:
            await w.request(reader)

        w.script = silent
        task = asyncio.create_task(lean.send(outbound(url + "/1")))
        await until(lambda: len(w.requests) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert lean._count == 0
        await w.closed()  # the connection whose answer may still come is gone
        w.script = numbered()
        assert (await lean.send(outbound(url + "/2"))).content == b"/2"
        assert lean._count == 1
        await lean.aclose()
        await w.closed()
    assert w.requests == [b"/1", b"/2"]


@pytest.mark.parametrize("tls", [False, True])
async def test_a_connection_closed_as_it_is_handed_to_a_waiter_is_not_used(
    tls: bool, tmp_path: Path
) -> None:
    """The server answers (keep-alive by its head) and closes at once; the request waiting for
    the pool's one connection must not be written on it (it would fail unsent, or wait out its
    deadline) but go on a new connection."""
    go = asyncio.Event()

    async def answer_and_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire
    ) -> None:
        target = await w.request(reader)
        await go.wait()
        writer.write(ok(target))
        await writer.drain()
        writer.close()

    w = Wire(answer_and_close)
    sock = listening_socket()
    cert, key, _ = self_signed("localhost", tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await asyncio.start_server(w.handle, sock=sock, ssl=server_tls if tls else None)
    url = f"{'https' if tls else 'http'}://localhost:{sock.getsockname()[1]}"
    lean = Http1Client(connections=1, ssl_context=ssl.create_default_context(cafile=str(cert)))
    try:
        first = asyncio.create_task(lean.send(outbound(url + "/1")))
        await until(lambda: len(w.requests) == 1)
        second = asyncio.create_task(lean.send(outbound(url + "/2")))
        await until(lambda: len(lean._waiting) == 1)
        go.set()
        assert (await first).content == b"/1"
        assert (await second).content == b"/2"
        assert (w.accepted, w.requests) == (2, [b"/1", b"/2"])
        assert lean._count == idle(lean) == 1
    finally:
        await lean.aclose()
        await w.closed()
        server.close()


# ---- a crowd on a small pool --------------------------------------------------------------------


async def test_a_crowd_on_four_connections_every_request_ends_with_its_own_answer() -> None:
    """200 requests, 4 connections, answers after random delays, some framed to close the
    connection, some never answered (those time out). Every request ends, each answer is its
    own request's, the bound holds as the server sees it, and nothing stays open."""
    rng = random.Random(7)
    lean = Http1Client(connections=4)
    busy = 0
    seen: list[tuple[int, int]] = []  # (requests being answered, the pool's count) as they come

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        nonlocal busy
        seen.append((busy, lean._count))
        while True:
            path = await w.request(reader)
            busy += 1
            seen.append((busy, lean._count))
            try:
                if path.startswith(b"/never"):
                    await reader.read()  # until the client gives up on it
                    return
                await asyncio.sleep(rng.random() * 0.004)
                if path.startswith(b"/close"):
                    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + path)
                    await writer.drain()
                    writer.close()
                    return
                writer.write(ok(path))
                await writer.drain()
            finally:
                busy -= 1

    async with wire(script) as (url, w):
        kinds = [rng.choice(["/ok", "/ok", "/ok", "/close", "/never"]) for _ in range(200)]
        requests = [
            outbound(f"{url}{kind}/{n}", timeout=0.2 if kind == "/never" else 10)
            for n, kind in enumerate(kinds)
        ]
        results = await asyncio.gather(
            *(lean.send(request) for request in requests), return_exceptions=True
        )
        for request, kind, result in zip(requests, kinds, results, strict=True):
            if kind == "/never":
                assert isinstance(result, httpx.ReadTimeout | httpx.ConnectTimeout)
            else:
                assert isinstance(result, Answer), result
                assert result.content == request.url.raw_path
        assert 0 <= lean._count <= 4
        assert lean._count == idle(lean)
        assert not lean._waiting or all(waiter.done() for _, waiter in lean._waiting)
        await lean.aclose()
        assert lean._count == 0
        await w.closed()
    assert max(busy for busy, _ in seen) <= 4
    assert max(count for _, count in seen) <= 4
    assert any(isinstance(result, httpx.ReadTimeout) for result in results)
    never_sent = sum(isinstance(result, httpx.ConnectTimeout) for result in results)
    assert len(w.requests) == 200 - never_sent  # each of the others sent once
    assert len(set(w.requests)) == len(w.requests)


# ---- answers framed oddly, cut, doubled ---------------------------------------------------------


async def test_an_early_answer_before_the_body_is_read_and_the_connection_reused() -> None:
    async def early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(ok(b"early"))  # before reading the body, as a 413 would be
            await writer.drain()
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            w.requests.append(head)

    async with wire(early) as (url, w):
        lean = Http1Client()
        for _ in range(2):
            big = outbound(url + "/x", method="POST", content=b"x" * 2_000_000)
            assert (await lean.send(big)).content == b"early"
        await until(lambda: len(w.requests) == 2)
        await lean.aclose()
        await w.closed()
    assert w.accepted == 1


async def test_two_answers_to_one_request_the_connection_is_not_trusted_again() -> None:
    doubled = ok(b"one") + ok(b"two")
    later = asyncio.Event()

    async def twice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        await w.request(reader)
        if w.accepted == 1:
            writer.write(doubled)  # in one write
        else:
            writer.write(ok(b"one"))
            await writer.drain()
            await later.wait()
            writer.write(ok(b"two"))  # while the connection is idle
        await writer.drain()

    async with wire(twice) as (url, w):
        lean = Http1Client()
        assert (await lean.send(outbound(url + "/1"))).content == b"one"
        assert (await lean.send(outbound(url + "/2"))).content == b"one"
        later.set()
        await until(lambda: w.open == 0)  # the stray answer made the client drop it
        w.script = numbered()
        assert (await lean.send(outbound(url + "/3"))).content == b"/3"
        await lean.aclose()
        await w.closed()
    assert w.accepted == 3


@pytest.mark.parametrize(
    ("answer", "content", "reused"),
    [
        (ok(b"{}") + b"JUNK", b"{}", False),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"{}"), b"{}", True),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok(b"{}"), b"{}", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", b"{}", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", b"{}", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", b"{}", False),
        (b"HTTP/1.1 200 OK\r\ncOnNeCtIoN: ClOsE\r\ncontent-LENGTH: 2\r\n\r\n{}", b"{}", False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b"", True),
        (b"HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n", b"", True),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: 0\r\n\r\n", b"", True),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", b"", True),
        (
            b"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\nCONTENT-ENCODING: GZIP\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(gzip.compress(b"{}")), gzip.compress(b"{}")),
            b"{}",
            True,
        ),
    ],
)
async def test_answers_framed_oddly(answer: bytes, content: bytes, reused: bool) -> None:
    for one_byte in (False, True):
        if one_byte and answer.endswith(b"JUNK"):
            continue  # junk in later writes cannot be told from the next request's answer
        async with wire(byte_by_byte(answer) if one_byte else answering(answer)) as (url, w):
            lean = Http1Client()
            for _ in range(2):
                got = await lean.send(outbound(url + "/x"))
                assert got.content == content
                assert "link" not in got.headers  # an interim answer's headers are not kept
            await lean.aclose()
            await w.closed()
        assert w.accepted == (1 if reused else 2)
        assert len(w.requests) == 2


def byte_by_byte(answer: bytes) -> Script:
    """Answers each request with ``answer`` one byte per TCP segment."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            await w.request(reader)
            for index in range(len(answer)):
                writer.write(answer[index : index + 1])
                await writer.drain()
                await asyncio.sleep(0)

    return script


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ],
)
@pytest.mark.parametrize("rst", [False, True])
async def test_an_answer_cut_short_fails(answer: bytes, rst: bool) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        await w.request(reader)
        writer.write(answer)
        await writer.drain()
        if rst:
            await asyncio.sleep(0.05)  # the bytes reach the client first
            reset(writer)
        else:
            writer.close()

    w = await fails_once(cut)
    assert len(w.requests) == 1  # never sent again


async def test_a_reset_ends_no_body_read_to_the_connections_end() -> None:
    """Without a length the body ends with the connection; a reset is a failure, not an end."""

    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        await w.request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"amount":1')
        await writer.drain()
        await asyncio.sleep(0.05)  # the bytes reach the client first
        reset(writer)

    await fails_once(cut)


async def test_the_answer_deadline_is_not_renewed_by_a_trickle() -> None:
    """A server that keeps sending a byte at a time never finishing its answer meets the one
    deadline for the whole answer."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        await w.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.01)

    async with wire(trickle) as (url, w):
        lean = Http1Client()
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await lean.send(outbound(url + "/x", timeout=0.3))
        assert time.monotonic() - started < 2
        assert lean._count == 0
        await lean.aclose()
        await w.closed()


# ---- a kept-alive connection closed as the next request goes out --------------------------------


@pytest.mark.parametrize("how", ["close", "reset", "before"])
async def test_a_connection_closed_as_the_next_request_is_written_fails_it_once(how: str) -> None:
    """``close``/``reset``: the server hangs up on reading the next request's first byte;
    ``before``: it hangs up right after its answer and the next request follows at once, before
    the client has seen the close. Either way the request fails promptly and is not sent again."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        await w.request(reader)
        writer.write(ok(b"{}"))
        await writer.drain()
        if how != "before":
            await reader.readexactly(1)
            w.requests.append(b"second")
        if how == "reset":
            reset(writer)
        else:
            writer.close()

    async with wire(hang_up) as (url, w):
        lean = Http1Client()
        assert (await lean.send(outbound(url + "/1"))).status_code == 200
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            await lean.send(outbound(url + "/2", method="POST", content=b"{}"))
        assert time.monotonic() - started < 2
        assert lean._count == 0
        await lean.aclose()
        await w.closed()
    assert w.accepted == 1
    assert len(w.requests) == (1 if how == "before" else 2)


# ---- the answer's size bound --------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"100\r\n"
        + b"x" * 256
        + b"\r\n" * 1
        + (b"100\r\n" + b"x" * 256 + b"\r\n") * 20,
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 5000,
    ],
)
async def test_the_size_bound_holds_for_chunked_and_close_framed_answers(answer: bytes) -> None:
    async with wire(answering(answer, close=True)) as (url, w):
        lean = Http1Client(max_answer_bytes=1000)
        with pytest.raises(AnswerTooLarge, match="larger than 1000"):
            await lean.send(outbound(url + "/x"))
        assert lean._count == 0
        await lean.aclose()
        await w.closed()


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_the_size_bound_holds_for_the_decoded_body(coding: str) -> None:
    """A small compressed answer that decodes to a thousand times the bound is refused."""
    plain = b"\0" * 2_000_000
    packed = gzip.compress(plain) if coding == "gzip" else zlib.compress(plain)
    assert len(packed) < 10_000
    answer = ok(packed, b"Content-Encoding: " + coding.encode())
    async with wire(answering(answer)) as (url, w):
        lean = Http1Client(max_answer_bytes=10_000)
        with pytest.raises(AnswerTooLarge, match="larger than 10000"):
            await lean.send(outbound(url + "/x"))
        assert lean._count == 0
        await w.closed()
        w.script = answering(ok(gzip.compress(b"y" * 10_000), b"Content-Encoding: gzip"))
        assert (await lean.send(outbound(url + "/x"))).content == b"y" * 10_000  # at the bound
        await lean.aclose()
        await w.closed()


@pytest.mark.parametrize("header", [b"X-Long: " + b"a" * 10_000_000, b"X-Many: a\r\n" * 1_000_000])
async def test_the_head_is_bounded_too(header: bytes) -> None:
    """An endless head (one long header, or very many) fails at once, not fills memory until the
    deadline; a big body in the same write as its head is still read."""

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, w: Wire) -> None:
        target = await w.request(reader)
        if target == b"/big":
            writer.write(ok(b"b" * 1_000_000))
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for start in range(0, len(header), 65536):
            writer.write(header[start : start + 65536])
            await writer.drain()

    async with wire(endless) as (url, w):
        lean = Http1Client()
        started = time.monotonic()
        with pytest.raises(AnswerTooLarge, match="head larger than"):
            await lean.send(outbound(url + "/endless", timeout=3))
        assert time.monotonic() - started < 2
        assert lean._count == 0
        assert (await lean.send(outbound(url + "/big"))).content == b"b" * 1_000_000
        await lean.aclose()
        await w.closed()


# ---- closed under load --------------------------------------------------------------------------


async def test_aclose_with_requests_in_flight_and_waiting() -> None:
    go = asyncio.Event()
    held = answering_when(go)

    async with wire(held) as (url, w):
        lean = Http1Client(connections=2)
        go.set()
        assert (await lean.send(outbound(url + "/0"))).status_code == 200
        go.clear()
        tasks = [asyncio.create_task(lean.send(outbound(f"{url}/{n}"))) for n in range(1, 5)]
        await until(lambda: len(w.requests) == 3 and len(lean._waiting) == 2)
        await lean.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await lean.send(outbound(url + "/late"))
        go.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for n, result in enumerate(results[:2], 1):  # in flight: answered, or a transport error
            assert isinstance(result, Answer | httpx.HTTPError), result
            if isinstance(result, Answer):
                assert result.content == b"/%d" % n
        for result in results[2:]:  # waiting for room: refused, never sent
            assert isinstance(result, RuntimeError) and "closed" in str(result)
        assert lean._count == 0
        assert idle(lean) == 0
        await w.closed()
    assert len(w.requests) == len(set(w.requests)) == 3  # /0, /1, /2
