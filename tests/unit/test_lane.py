"""jubao's HTTP protocol (``web/corking.py``) with the gateway's lane (``web/lane.py``) and its
keep-alive timer, served by real uvicorn on loopback and spoken to in raw HTTP/1.1:

- which requests take the lane (the app sees who carries its ``send``) and which go through
  uvicorn's own cycle;
- an answer on the lane is byte for byte the answer uvicorn's cycle writes for the same messages;
- what the lane refuses to write (no ``content-length``, a wrong length, a line break in a header)
  closes the connection and never reaches the wire as a split head;
- keep-alive: an idle connection is closed after ``timeout_keep_alive`` (one that never sent a
  request too), a busy one is not, nor is one whose request takes longer than that; a request head
  must be whole within ``timeout_keep_alive`` of its first byte."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from tests.support.rawhttp import post, without_date
from tests.support.servers import listening_socket

from jubao.web.corking import PROTOCOL
from jubao.web.lane import LaneCycle

pytestmark = pytest.mark.slow

BODY = b'{"ok":true}'


class App:
    """Answers every request with ``BODY`` (or what ``answer`` says), noting which cycle carried
    its ``send``; ``lane_paths`` opts in to the lane."""

    def __init__(self, lane: bool = True, delay: float = 0.0) -> None:
        if lane:
            self.lane_paths = frozenset({b"/gateway", b"/gateway/agent"})
        self.delay = delay
        self.carriers: list[str] = []
        self.headers: list[tuple[bytes, bytes]] = [(b"content-length", b"%d" % len(BODY))]
        self.body = BODY

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        carrier = type(send.__self__)
        self.carriers.append("lane" if carrier is LaneCycle else carrier.__name__)
        while (await receive()).get("more_body"):
            pass
        if self.delay:
            await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


@contextlib.asynccontextmanager
async def served(app: App, **options: Any) -> AsyncIterator[int]:
    sock = listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        http=PROTOCOL,
        server_header=False,
        proxy_headers=False,
        access_log=False,
        **options,
    )  # as jubao serves (cli/servers.py)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve([sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await task


async def exchange(port: int, raw: bytes, answers: int = 1) -> tuple[list[bytes], bool]:
    """Writes ``raw`` at once; returns that many answers and whether the server then closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        got = [await read_answer(reader) for _ in range(answers)]
        closed = await closed_within(reader, 0.2)
        return got, closed
    finally:
        writer.close()


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    match = re.search(rb"content-length: (\d+)", head)
    length = int(match.group(1)) if match else 0
    return head + await reader.readexactly(length)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), seconds) == b""
    except TimeoutError:
        return False


async def test_posts_to_the_apps_exact_paths_take_the_lane_and_nothing_else_does() -> None:
    app = App()
    async with served(app) as port:
        for raw in (
            post(),
            post(b"/gateway/agent"),
            post(b"/gateway?x=1"),  # a query string: uvicorn parses the target
            post(b"/gateway/"),
            post(b"/other"),
            b"GET /gateway HTTP/1.1\r\nhost: x\r\n\r\n",
            post(extra=b"expect: 100-continue\r\n"),
        ):
            continues = b"expect" in raw  # an interim 100 Continue first
            answers, _ = await exchange(port, raw, answers=2 if continues else 1)
            assert answers[-1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert app.carriers == ["lane", "lane", *["RequestResponseCycle"] * 5]


async def test_an_app_that_did_not_opt_in_never_takes_the_lane() -> None:
    app = App(lane=False)
    async with served(app) as port:
        await exchange(port, post())
    assert app.carriers == ["RequestResponseCycle"]


async def test_a_request_pipelined_behind_one_in_flight_waits_its_turn_on_uvicorns_cycle() -> None:
    app = App(delay=0.1)
    async with served(app) as port:
        answers, closed = await exchange(port, post(body=b"[1]") + post(body=b"[2]"), answers=2)
    assert app.carriers == ["lane", "RequestResponseCycle"]
    assert all(answer.endswith(BODY) for answer in answers)
    assert not closed


async def test_the_lanes_answer_is_byte_for_byte_uvicorns() -> None:
    on_lane, on_uvicorn = App(), App(lane=False)
    for app in (on_lane, on_uvicorn):
        app.headers = [
            (b"content-length", b"%d" % len(BODY)),
            (b"content-type", b"application/json;charset=UTF-8"),
            (b"x-request-id", b"abc"),
        ]
    answers = []
    for app in (on_lane, on_uvicorn):
        async with served(app) as port:
            for raw in (
                post(),
                post(extra=b"connection: close\r\n"),
                post().replace(b"HTTP/1.1", b"HTTP/1.0"),
            ):
                got, closed = await exchange(port, raw)
                answers.append((without_date(got[0]), closed))
    assert on_lane.carriers == ["lane"] * 3
    assert answers[:3] == answers[3:]
    assert [closed for _, closed in answers[:3]] == [False, True, True]
    assert b"connection: close\r\n" in answers[1][0]


@pytest.mark.parametrize(
    ("headers", "written"),
    [
        ([], b""),  # no content-length: nothing is written
        # a line break in a header: nothing is written, no second header smuggled in
        ([(b"content-length", b"%d" % len(BODY)), (b"x-id", b"a\r\nset-cookie: evil=1")], b""),
        # a body longer than announced: nothing is written
        ([(b"content-length", b"3")], b""),
        # shorter than announced: it went out, and the close tells the client it is cut short
        ([(b"content-length", b"99")], BODY),
    ],
)
async def test_what_the_lane_cannot_write_as_told_closes_the_connection(
    headers: list[tuple[bytes, bytes]], written: bytes
) -> None:
    app = App()
    app.headers = headers
    async with served(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post())
        received = await asyncio.wait_for(reader.read(), 5)  # to the server's close
        writer.close()
    assert app.carriers == ["lane"]
    assert (received.partition(b"\r\n\r\n")[2] if written else received) == written


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout() -> None:
    async with served(App(), timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post())
        await read_answer(reader)
        assert not await closed_within(reader, 0.7)
        assert await closed_within(reader, 1.5)
        writer.close()


async def test_a_connection_that_never_sends_a_request_is_closed_after_the_timeout() -> None:
    async with served(App(), timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert not await closed_within(reader, 0.7)
        assert await closed_within(reader, 1.5)
        writer.close()


async def test_a_busy_connection_is_not_closed_by_the_keep_alive_timeout() -> None:
    async with served(App(), timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(6):  # 2.4 s of requests 0.4 s apart: the timer fires at least once
            writer.write(post())
            assert (await read_answer(reader)).endswith(BODY)
            assert not await closed_within(reader, 0.4)
        writer.close()


async def test_a_request_longer_than_the_keep_alive_timeout_is_answered_then_idles_again() -> None:
    async with served(App(delay=1.5), timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post())
        assert (await read_answer(reader)).endswith(BODY)
        assert not await closed_within(reader, 0.6)  # idle 0.6 s of its 1 s
        assert await closed_within(reader, 1.5)
        writer.close()


class Raising(App):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise ValueError("no answer")  # uvicorn's cycle answers 500 with "connection: close"
        await super().__call__(scope, receive, send)


@pytest.mark.parametrize("app_class", [App, Raising])
async def test_a_connection_close_from_the_app_is_written_once_as_uvicorn_writes_it(
    app_class: type[App],
) -> None:
    answers = []
    for lane in (True, False):
        app = app_class(lane=lane)
        app.headers = [(b"content-length", b"%d" % len(BODY)), (b"connection", b"close")]
        async with served(app) as port:
            got, closed = await exchange(port, post())
            answers.append((without_date(got[0]), closed))
    assert answers[0] == answers[1]
    assert answers[0][0].count(b"connection: close\r\n") == 1 and answers[0][1]


async def test_a_head_left_unfinished_is_closed_after_the_timeout() -> None:
    """uvicorn cancels its timer on any byte: a partial head kept a connection for ever."""
    async with served(App(), timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post()[:20])
        assert not await closed_within(reader, 0.7)
        assert await closed_within(reader, 1.5)
        writer.close()


async def test_a_head_trickled_past_the_timeout_is_cut_whatever_the_pace() -> None:
    app = App()
    async with served(app, timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        cut = False
        for byte in post()[:40]:  # one byte each 0.1 s: 4 s for what must be whole in 1
            writer.write(bytes([byte]))
            if await closed_within(reader, 0.1):
                cut = True
                break
        writer.close()
    assert cut and app.carriers == []


async def test_a_head_in_pieces_within_the_timeout_of_its_first_byte_is_served() -> None:
    async with served(App(), timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post())
        assert (await read_answer(reader)).endswith(BODY)
        await asyncio.sleep(0.7)  # idle 0.7 s of 1, then a head over 0.6 s: 1.3 s after the answer
        raw = post()
        for piece in (raw[:10], raw[10:30], raw[30:]):
            writer.write(piece)
            await asyncio.sleep(0.3)
        assert (await read_answer(reader)).endswith(BODY)
        writer.close()
