"""Trying to break the gateway's lane (``web/lane.py``) and jubao's keep-alive timer
(``web/corking.py``) on real uvicorn over loopback, in raw HTTP/1.1.

The reference is uvicorn's own cycle: the same scenario is run against the same app without
``lane_paths`` (so every request goes through ``RequestResponseCycle``), and where the lane is
meant to behave the same, the wire must be the same (modulo the ``date`` header): large and slow
bodies with reading paused and resumed, a client that never reads its answers, a client gone at
every stage, apps that misbehave, shutdown with requests in flight, the keep-alive timer at its
edges, odd requests (HTTP/1.0, chunked, upgrade, ``Expect``) and the concurrency limit. Every
test is bounded in time and checks that no task or connection is left behind and nothing is
logged that should not be."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from jubao.web.corking import CorkedHttpToolsProtocol, CorkedTransport
from jubao.web.lane import LaneCycle
from tests.support.rawhttp import post, without_date
from tests.support.servers import serve_uvicorn

pytestmark = pytest.mark.slow

LANE_PATHS = frozenset({b"/gateway", b"/gateway/agent"})
BODY = b'{"ok":true}'
Handler = Callable[[Any, Any, Any], Awaitable[None]]


class Scripted:
    """An ASGI app whose every HTTP request is served by ``handler``, noting which cycle carried
    it; with ``lane`` it opts in to the lane for ``/gateway`` and ``/gateway/agent``."""

    def __init__(self, handler: Handler, lane: bool) -> None:
        if lane:
            self.lane_paths = LANE_PATHS
        self.handler = handler
        self.carriers: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.carriers.append("lane" if type(send.__self__) is LaneCycle else "uvicorn")
        await self.handler(scope, receive, send)


class Records(logging.Handler):
    """Every record of WARNING or above from uvicorn, asyncio and jubao while a server runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [f"{record.levelname} {record.getMessage()}" for record in self.records]


@dataclass
class Served:
    port: int
    server: uvicorn.Server
    logs: Records

    async def settled(self, within: float = 3.0) -> None:
        """Waits until the server holds no task and no connection (fails after ``within``)."""
        state = self.server.server_state
        async with asyncio.timeout(within):
            while state.tasks or state.connections:
                await asyncio.sleep(0.01)

    async def protocol(self) -> CorkedHttpToolsProtocol:
        """The protocol of the one connection open (waits for it to be accepted)."""
        state = self.server.server_state
        async with asyncio.timeout(2):
            while len(state.connections) != 1:
                await asyncio.sleep(0.005)
        protocol = next(iter(state.connections))
        assert isinstance(protocol, CorkedHttpToolsProtocol)
        return protocol


LOGGERS = ("uvicorn.error", "asyncio", "jubao")  # uvicorn.error propagates to uvicorn: once


@contextlib.contextmanager
def recorded() -> Iterator[Records]:
    records = Records()
    for name in LOGGERS:
        logging.getLogger(name).addHandler(records)
    try:
        yield records
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(records)


@contextlib.asynccontextmanager
async def served(app: Any, **options: Any) -> AsyncIterator[Served]:
    """Serves ``app`` as jubao serves (``cli/servers.py``'s options) on a fresh loopback port."""
    settings: dict[str, Any] = {
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "ws": "none",
        **options,
    }
    async with serve_uvicorn(app, lifespan="off", **settings) as (url, server):
        with recorded() as logs:
            yield Served(int(url.rsplit(":", 1)[1]), server, logs)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def one_exchange(serving: Served, raw: bytes) -> tuple[bytes, bool]:
    """Writes ``raw`` on a new connection: what came back (without ``date``) and whether the
    server closed."""
    reader, writer = await connect(serving.port)
    writer.write(raw)
    got, closed = await read_until_quiet(reader)
    writer.close()
    return without_date(got), closed


async def one_post(serving: Served) -> tuple[bytes, bool]:
    return await one_exchange(serving, post())


async def read_until_quiet(reader: asyncio.StreamReader, quiet: float = 0.3) -> tuple[bytes, bool]:
    """Everything the server writes until it closes (True) or is silent for ``quiet`` s."""
    got = bytearray()
    while True:
        try:
            data = await asyncio.wait_for(reader.read(65536), quiet)
        except TimeoutError:
            return bytes(got), False
        except ConnectionResetError:
            return bytes(got), True
        if not data:
            return bytes(got), True
        got += data


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    match = re.search(rb"content-length: (\d+)", head)
    return head + await reader.readexactly(int(match.group(1)) if match else 0)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), seconds) == b""
    except TimeoutError:
        return False


async def read_body(receive: Any) -> bytes | None:
    """The request's whole body, or None if the client left first."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body"):
            return bytes(body)


async def answer(send: Any, body: bytes = BODY, *extra: tuple[bytes, bytes]) -> None:
    headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": [*headers, *extra]})
    await send({"type": "http.response.body", "body": body})


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers with the length and digest of the body it read."""
    body = await read_body(receive)
    assert body is not None
    await answer(send, b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode()))


def digest(body: bytes) -> bytes:
    return b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())


async def on_both(
    handler: Handler, scenario: Callable[[Served], Awaitable[Any]], **options: Any
) -> tuple[tuple[Any, list[str], list[str]], tuple[Any, list[str], list[str]]]:
    """Runs ``scenario`` against ``handler`` on the lane and on uvicorn's cycle; for each, what it
    returned, which cycles carried the requests and what was logged."""
    outcomes = []
    for lane in (True, False):
        app = Scripted(handler, lane)
        async with asyncio.timeout(15), served(app, **options) as serving:
            result = await scenario(serving)
            await serving.settled()
            outcomes.append((result, app.carriers, serving.logs.messages))
    return outcomes[0], outcomes[1]


# ---- bodies larger than uvicorn's high-water mark ---------------------------------------------

LARGE = bytes(range(256)) * 800  # 200 KiB, over uvicorn's HIGH_WATER_LIMIT (64 KiB)


@pytest.mark.parametrize("slowly", [False, True], ids=["at-once", "slowly"])
async def test_a_large_body_on_the_lane_pauses_reading_and_comes_whole(slowly: bool) -> None:
    paused: list[bool] = []
    started = asyncio.Event()

    async def late_reader(scope: Any, receive: Any, send: Any) -> None:
        started.set()
        await asyncio.sleep(0.3)  # the body piles up meanwhile: reading must pause
        await echo(scope, receive, send)

    async def scenario(serving: Served) -> tuple[list[bytes], bool]:
        reader, writer = await connect(serving.port)
        protocol = await serving.protocol()
        raw = post(body=LARGE)
        if slowly:
            for at in range(0, len(raw), 7000):
                writer.write(raw[at : at + 7000])
                await asyncio.sleep(0.002)
        else:
            writer.write(raw)
        await started.wait()
        await asyncio.sleep(0.2)
        paused.append(protocol.flow.read_paused)
        first = await read_answer(reader)
        writer.write(post(body=b"[2]"))  # the connection goes on
        second = await read_answer(reader)
        closed = await closed_within(reader, 0.2)
        writer.close()
        return [without_date(first), without_date(second)], closed

    (lane, lane_carriers, lane_logs), reference = await on_both(late_reader, scenario)
    assert lane_carriers == ["lane", "lane"]
    assert lane == reference[0]
    assert lane[0][0].endswith(digest(LARGE)) and lane[0][1].endswith(digest(b"[2]"))
    assert not lane[1]
    assert paused == [True, True]  # on the lane and on uvicorn's cycle
    assert lane_logs == reference[2] == []


async def test_an_answer_sent_before_the_body_is_in_leaves_the_connection_usable() -> None:
    async def hasty(scope: Any, receive: Any, send: Any) -> None:
        await answer(send)  # without reading the body

    async def scenario(serving: Served) -> tuple[list[bytes], bool]:
        reader, writer = await connect(serving.port)
        raw = post(body=b"x" * 100_000)
        writer.write(raw[:50_000])
        first = await read_answer(reader)
        await asyncio.sleep(0.05)
        writer.write(raw[50_000:] + post(body=b"[2]"))
        second = await read_answer(reader)
        closed = await closed_within(reader, 0.2)
        writer.close()
        return [without_date(first), without_date(second)], closed

    lane, reference = await on_both(hasty, scenario)
    assert lane[1] == ["lane", "lane"]
    assert lane[0] == reference[0]
    assert lane[0][0][0].endswith(BODY) and lane[0][0][1].endswith(BODY) and not lane[0][1]
    assert lane[2] == reference[2] == []


# ---- a client that never reads ----------------------------------------------------------------

ANSWER_BYTES = 32 * 1024


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "uvicorn"])
async def test_a_client_that_never_reads_fills_no_unbounded_buffer_and_blocks_nobody(
    lane: bool,
) -> None:
    big = b"x" * ANSWER_BYTES
    sending: list[str] = []  # the cycles whose send has not returned

    async def large(scope: Any, receive: Any, send: Any) -> None:
        await read_body(receive)
        carrier = "lane" if type(send.__self__) is LaneCycle else "uvicorn"
        sending.append(carrier)
        await answer(send, big)
        sending.remove(carrier)

    app = Scripted(large, lane)
    async with asyncio.timeout(20), served(app) as serving:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few answers
        sock.connect(("127.0.0.1", serving.port))
        sock.setblocking(False)
        _, writer = await asyncio.open_connection(sock=sock)
        protocol = await serving.protocol()
        # the kernel's buffers small on both ends, so that the server's own fill after a few answers
        protocol.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 16384
        )
        try:
            carrier = "lane" if lane else "uvicorn"
            for n in range(1, 100):  # one after another, each once the last is in, never reading
                writer.write(post())
                async with asyncio.timeout(2):
                    while len(app.carriers) < n:
                        await asyncio.sleep(0.001)
                await asyncio.sleep(0.005)
                if sending:  # its answer is held back: the socket is full
                    break
            assert sending == [carrier]  # waiting in flow control's drain
            assert app.carriers == [carrier] * n
            writer.write(post() * 100)  # more, at once: none is started meanwhile
            await asyncio.sleep(0.2)
            assert len(app.carriers) == n
            assert protocol.flow.write_paused
            corked: object = protocol.transport  # typed as asyncio's by uvicorn
            assert isinstance(corked, CorkedTransport)
            held = corked.get_write_buffer_size() + corked._size
            assert held < 4 * ANSWER_BYTES + 64 * 1024
            assert n < 20  # the kernel's buffers hold a few answers
            # meanwhile another client is served at once
            other_reader, other_writer = await connect(serving.port)
            other_writer.write(post(body=b"[1]"))
            assert (await read_answer(other_reader)).endswith(big)
            other_writer.close()
        finally:
            writer.transport.abort()  # the client goes: its blocked answer is dropped
        await serving.settled()
        assert serving.logs.messages == []


# ---- a client gone at every stage -------------------------------------------------------------

STAGES = [
    "mid-head",
    "after-head",
    "mid-body",
    "processing",
    "pipelined-processing",  # a second request queued behind the lane's
    "half-closed",  # the client shuts its side after the request: asyncio then closes
    "after-answer",
    "reset-processing",
]


@pytest.mark.parametrize("stage", STAGES)
async def test_a_client_gone_at_any_stage_leaves_nothing_behind(stage: str) -> None:
    entered = asyncio.Event()
    after: list[Any] = []

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        body = await read_body(receive)
        if body is None:
            after.append("left while sending")
            return
        entered.set()
        await asyncio.sleep(0.2 if stage != "after-answer" else 0)
        await answer(send)  # on a gone client: ignored, no error
        after.append((await receive())["type"])

    async def scenario(serving: Served) -> tuple[bytes, Any]:
        after.clear()
        reader, writer = await connect(serving.port)
        protocol = await serving.protocol()
        timer = protocol.timeout_keep_alive_task  # armed as the connection was made
        raw = post(body=b"0123456789")
        if stage == "mid-head":
            writer.write(raw[:30])
        elif stage == "after-head":
            writer.write(raw[: raw.index(b"\r\n\r\n") + 4])
        elif stage == "mid-body":
            writer.write(raw[:-5])
        elif stage == "pipelined-processing":
            writer.write(raw + raw)
        else:
            writer.write(raw)
        if stage == "half-closed":
            writer.write_eof()
        got = b""
        if stage in ("processing", "pipelined-processing", "reset-processing"):
            await entered.wait()
        elif stage == "after-answer":
            got = without_date(await read_answer(reader))
        await asyncio.sleep(0.05)
        if stage.startswith("reset"):
            linger = socket.SO_LINGER
            writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, linger, b"\1\0\0\0\0\0\0\0"
            )
        writer.close()
        await serving.settled()
        # the keep-alive timer (armed when the connection was made) went with the connection
        assert timer is not None and timer.cancelled()
        assert protocol.timeout_keep_alive_task is None
        return got, list(after)

    lane, reference = await on_both(slow, scenario)
    assert lane[0] == reference[0]
    assert lane[2] == reference[2] == []
    if stage in ("processing", "pipelined-processing", "reset-processing"):
        assert lane[0][1] == ["http.disconnect"]
    elif stage in ("after-head", "mid-body"):
        assert lane[0][1] == ["left while sending"]
    if stage != "mid-head":
        assert lane[1] == ["lane"]


# ---- apps that misbehave ----------------------------------------------------------------------


async def raise_before_start(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    raise ValueError("before the answer")


async def raise_after_part(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY[:3], "more_body": True})
    raise ValueError("in the middle of the body")


async def return_without_answer(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)


async def answer_twice(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    await answer(send)
    await answer(send)


async def answer_in_pieces(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for at in range(0, len(BODY), 4):
        await send({"type": "http.response.body", "body": BODY[at : at + 4], "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def answer_empty(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    await answer(send, b"")


async def body_before_start(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    await send({"type": "http.response.body", "body": BODY})


async def answer_closing(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    await answer(send, BODY, (b"connection", b"close"))


async def answer_after_yielding(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await asyncio.sleep(0.05)  # the head is not held for ever: it goes with the body
    await send({"type": "http.response.body", "body": BODY})


@pytest.mark.parametrize(
    "handler",
    [
        raise_before_start,
        raise_after_part,
        return_without_answer,
        answer_twice,
        answer_in_pieces,
        answer_empty,
        body_before_start,
        answer_closing,
        answer_after_yielding,
    ],
)
async def test_what_an_app_does_wrong_reaches_the_wire_as_uvicorn_writes_it(
    handler: Handler,
) -> None:
    scenario = one_post

    lane, reference = await on_both(handler, scenario)
    assert lane[1] == ["lane"]
    assert lane[0] == reference[0]
    assert lane[2] == reference[2]


async def raise_after_start(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ValueError("after the head")


async def return_after_start(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def start_twice(scope: Any, receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.start", "status": 200, "headers": headers})


@pytest.mark.parametrize("handler", [raise_after_start, return_after_start, start_twice])
async def test_a_head_never_followed_by_its_body_is_not_written_on_the_lane(
    handler: Handler,
) -> None:
    """A known difference: uvicorn writes the head at ``http.response.start`` and then closes,
    the lane holds the head for the body and so only closes; the client is told as much either
    way (no complete answer), and the error is logged alike."""

    scenario = one_post

    lane, reference = await on_both(handler, scenario)
    assert lane[1] == ["lane"]
    assert reference[0] == (b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n", True)
    assert lane[0] == (b"", True)
    assert lane[2] == reference[2] != []


async def test_a_header_name_not_in_lower_case_is_refused_on_the_lane() -> None:
    """Another known difference: uvicorn lower-cases an answer's header names, the lane trusts
    the app to have done so (the front does) and, not finding ``content-length``, refuses."""

    async def capitalised(scope: Any, receive: Any, send: Any) -> None:
        await read_body(receive)
        headers = [(b"Content-Length", b"%d" % len(BODY))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})

    scenario = one_post

    lane, reference = await on_both(capitalised, scenario)
    assert reference[0] == (b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n" + BODY, False)
    assert lane[0] == (b"", True)
    assert lane[2] == ["ERROR Exception in ASGI application\n"] and reference[2] == []


# ---- shutdown ---------------------------------------------------------------------------------


async def test_shutdown_answers_the_lanes_requests_in_flight_and_closes_the_idle() -> None:
    entered = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        body = await read_body(receive)
        if body == b"[slow]":
            entered.set()
            await asyncio.sleep(0.3)
        await answer(send, body or b"")

    outcomes = []
    for lane in (True, False):
        entered.clear()
        app = Scripted(slow, lane)
        async with asyncio.timeout(10), served(app) as serving:
            busy = await connect(serving.port)
            idle = await connect(serving.port)
            silent = await connect(serving.port)
            halfway = await connect(serving.port)
            idle[1].write(post(body=b"[idle]"))
            await read_answer(idle[0])
            raw = post(body=b"[halfway]")
            halfway[1].write(raw[:-3])
            busy[1].write(post(body=b"[slow]"))
            await entered.wait()
            serving.server.should_exit = True
            await asyncio.sleep(0.05)
            halfway[1].write(raw[-3:])  # its body ends after the shutdown began
            results = [
                await read_until_quiet(reader, 2) for reader, _ in (busy, idle, silent, halfway)
            ]
            for _, writer in (busy, idle, silent, halfway):
                writer.close()
            await serving.settled()
            outcomes.append(
                ([(without_date(got), closed) for got, closed in results], app.carriers)
            )
            assert serving.logs.messages == []
    assert outcomes[0][0] == outcomes[1][0]
    assert outcomes[0][1] == ["lane"] * 3
    answered = outcomes[0][0]
    assert answered[0][0].endswith(b"[slow]") and b"connection: close\r\n" in answered[0][0]
    assert answered[1] == (b"", True) and answered[2] == (b"", True)
    assert answered[3][0].endswith(b"[halfway]") and answered[3][1]


async def test_a_lane_request_cancelled_by_the_graceful_shutdowns_timeout_is_answered_500() -> None:
    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        await read_body(receive)
        await asyncio.Event().wait()  # never answers: the shutdown's timeout cancels it

    async def scenario(serving: Served) -> tuple[bytes, bool]:
        reader, writer = await connect(serving.port)
        writer.write(post())
        await asyncio.sleep(0.1)
        serving.server.should_exit = True
        got, closed = await read_until_quiet(reader, 2)
        writer.close()
        return without_date(got), closed

    lane, reference = await on_both(stuck, scenario, timeout_graceful_shutdown=0.3)
    assert lane[1] == ["lane"]
    assert lane[0] == reference[0]
    assert lane[0][0].startswith(b"HTTP/1.1 500 Internal Server Error\r\n") and lane[0][1]
    assert lane[0][0].count(b"connection: close") == 1
    assert lane[2] == reference[2] != []


# ---- the keep-alive timer ---------------------------------------------------------------------


async def test_many_idle_connections_are_each_closed_by_their_timer() -> None:
    app = Scripted(echo, lane=True)
    async with asyncio.timeout(10), served(app, timeout_keep_alive=0.3) as serving:
        clients = [await connect(serving.port) for _ in range(40)]
        for reader, writer in clients[:30]:  # ten never send anything
            writer.write(post())
            await read_answer(reader)
        closed = await asyncio.gather(*(closed_within(reader, 1.5) for reader, _ in clients))
        assert all(closed)
        await serving.settled()
        for _, writer in clients:
            writer.close()
        assert serving.logs.messages == []
    assert app.carriers == ["lane"] * 30


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "uvicorn"])
async def test_a_tiny_keep_alive_timeout_never_cuts_a_busy_connection(lane: bool) -> None:
    """0.05 s of keep-alive, requests 0.02 s apart for over a second: the timer fires many times
    (re-arming for the rest of an idle spell) but never closes the connection; once the client
    stops, it does."""
    app = Scripted(echo, lane)
    async with asyncio.timeout(15), served(app, timeout_keep_alive=0.05) as serving:
        reader, writer = await connect(serving.port)
        for n in range(60):
            writer.write(post(body=b"[%d]" % n))
            assert (await read_answer(reader)).endswith(digest(b"[%d]" % n))
            await asyncio.sleep(0.02)
        assert await closed_within(reader, 0.5)
        writer.close()
        await serving.settled()
        assert serving.logs.messages == []
    assert app.carriers == ["lane" if lane else "uvicorn"] * 60


async def test_the_timer_firing_during_pipelined_requests_rearms_after_the_last_answer() -> None:
    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await read_body(receive)
        await asyncio.sleep(0.25)
        await answer(send)

    app = Scripted(slow, lane=True)
    async with asyncio.timeout(10), served(app, timeout_keep_alive=0.1) as serving:
        reader, writer = await connect(serving.port)
        writer.write(post() + post() + post())
        for _ in range(3):
            assert (await read_answer(reader)).endswith(BODY)
        assert not await closed_within(reader, 0.05)
        assert await closed_within(reader, 0.5)
        writer.close()
        await serving.settled()
    assert app.carriers == ["lane", "uvicorn", "uvicorn"]


# ---- odd requests -----------------------------------------------------------------------------


def chunked(body: bytes, extra: bytes = b"") -> bytes:
    pieces = b"".join(
        b"%x\r\n%s\r\n" % (len(body[at : at + 5]), body[at : at + 5])
        for at in range(0, len(body), 5)
    )
    return (
        b"POST /gateway HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n%s\r\n%s0\r\n\r\n"
        % (extra, pieces)
    )


@pytest.mark.parametrize(
    ("raw", "carrier"),
    [
        (post(extra=b"connection: keep-alive\r\n").replace(b"HTTP/1.1", b"HTTP/1.0"), "lane"),
        (chunked(b'{"a":"chunked body"}'), "lane"),
        (post(extra=b"connection: Upgrade\r\nupgrade: websocket\r\n"), "uvicorn"),
        (post(extra=b"upgrade: h2c\r\n"), "lane"),  # no "connection: upgrade": a plain POST
        (post(extra=b"EXPECT: 100-Continue\r\n"), "uvicorn"),
        (post(extra=b"connection: close\r\n"), "lane"),
    ],
    ids=["http-1.0-keep-alive", "chunked", "upgrade", "upgrade-h2c", "expect-odd-case", "close"],
)
async def test_odd_requests_on_the_lane_are_answered_as_uvicorn_answers_them(
    raw: bytes, carrier: str
) -> None:
    scenario = functools.partial(one_exchange, raw=raw)

    lane, reference = await on_both(echo, scenario)
    assert lane[0] == reference[0]
    assert lane[1] == [carrier]
    assert lane[2] == reference[2]
    assert b"HTTP/1.1 200 OK\r\n" in lane[0][0]


async def test_the_concurrency_limit_refuses_the_lanes_requests_as_uvicorn_does() -> None:
    async def scenario(serving: Served) -> list[tuple[bytes, bool]]:
        seen = []
        first = await connect(serving.port)
        first[1].write(post(body=b"[alone]"))  # one connection of two allowed: answered
        seen.append(await read_until_quiet(first[0]))
        second = await connect(serving.port)  # now two: the limit is reached
        second[1].write(post(body=b"[second]"))
        seen.append(await read_until_quiet(second[0]))
        for _, writer in (first, second):
            writer.close()
        return [(without_date(got), closed) for got, closed in seen]

    lane, reference = await on_both(echo, scenario, limit_concurrency=2)
    assert lane[0] == reference[0]
    assert lane[1] == ["lane"]
    assert lane[0][0][0].endswith(digest(b"[alone]")) and not lane[0][0][1]
    assert lane[0][1][0].startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert lane[2] == reference[2] == ["WARNING Exceeded concurrency limit."]


@pytest.mark.parametrize(
    "raw",
    [
        post(extra=b"transfer-encoding: chunked\r\n"),  # both framings: a smuggling attempt
        post() + b"GARBAGE\r\n\r\n",  # bytes past the body: a next request the parser refuses
    ],
    ids=["length-and-chunked", "past-the-body"],
)
async def test_requests_the_parser_refuses_are_refused_alike(raw: bytes) -> None:
    scenario = functools.partial(one_exchange, raw=raw)

    lane, reference = await on_both(echo, scenario)
    assert lane[0] == reference[0]
    assert lane[1] == ["lane"] * len(reference[1])  # what was served before the refusal
    assert lane[2] == reference[2]
    assert b"HTTP/1.1 400 Bad Request\r\n" in lane[0][0] and lane[0][1]
    if lane[1]:  # the request before the refused bytes is answered first (uvicorn dropped it)
        assert 0 < lane[0][0].index(digest(b"{}")) < lane[0][0].index(b"HTTP/1.1 400")
