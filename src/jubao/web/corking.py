"""uvicorn's httptools protocol as jubao serves with it: an answer's head and body written to the
socket at once, a request head bounded, keep-alive without a timer per answer, and the gateway's
lane (``web/lane.py``).

uvicorn writes the head when the app sends ``http.response.start`` and the body when it sends
``http.response.body``: two ``send`` system calls, two TCP segments and two wake-ups of the
client for one small answer. Here the connection's transport holds what is written during one
turn of the event loop and writes it as one, at the end of that turn (or at once past
``FLUSH_BYTES``, so a streamed answer is not held back and uvicorn's flow control still sees
it). The gateway sends both parts without yielding in between, so they leave together: query
on SQLite 0.247 → 0.209 ms of CPU per request side by side (docs/benchmarks.md).

Keep-alive: uvicorn arms a timer after every answer and cancels it when the next request's bytes
arrive, a timer made and dropped per request. Here one timer per idle spell is armed and, when it
fires, looks at when the connection last went idle: it closes a connection idle for the whole
``timeout_keep_alive`` and re-arms for the rest otherwise, so a busy connection costs an attribute
write per request. A new connection counts as idle too (uvicorn leaves it be until its first
answer), and so does one whose next head has begun but is not whole: a head must be whole within
``timeout_keep_alive`` of its first byte.

A body must be whole within ``BODY_SECONDS`` of its head, whatever the route, or the connection
is closed (the app reads a disconnect: ``web/bodies.py`` ends the request quietly). uvicorn has
no such bound: a client declaring a body and sending a byte now and then held its connection for
ever. The timer is armed only when a read ends with a body still owed, so a request that arrives
whole costs nothing. Bytes the parser refuses are answered 400 after the answers of the requests
before them (``send_400_response``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from jubao.web.lane import LaneCycle, lane_paths_of

__all__ = ["PROTOCOL", "CorkedHttpToolsProtocol", "CorkedTransport"]

FLUSH_BYTES = 64 * 1024
# Longer than the gateway's own deadline (JUBAO_REQUEST_TIMEOUT_SECONDS, 30), which answers a
# late body with TIMEOUT first; every body jubao reads is at most 64 KiB (~1 KB/s suffices).
BODY_SECONDS = 60.0
DEFAULT_MAX_HEAD_BYTES = 16 * 1024  # h11's default bound, where none is configured
# For uvicorn's ``http`` option (an import path: the workers of ``serve`` import it themselves)
PROTOCOL = "jubao.web.corking:CorkedHttpToolsProtocol"


class CorkedTransport:
    """A transport whose writes within one loop turn go out as one ``write``; everything else is
    the real transport's. ``close`` and ``write_eof`` first write what is held."""

    __slots__ = ("_held", "_loop", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        held = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = []
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, ...
        return getattr(self._transport, name)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` writing through a ``CorkedTransport``, with a request head bounded.

    httptools sets no limit on a head (uvicorn's ``h11_max_incomplete_event_size`` is h11's
    alone): a client could make the parser hold megabytes of header lines. Here a head still
    incomplete after more than that many bytes (``DEFAULT_MAX_HEAD_BYTES`` when unset) is
    answered 400 and the connection closed. Whole reads that begin and end inside one head are
    counted, after the parser has seen them, so a body never counts as head; the bound may be
    passed by one read (a head that begins in the middle of one)."""

    _idle_since: float | None = None  # when the connection last went idle; None while busy
    _bytes_while_idle = False  # bytes arrived since the connection last went idle
    _body_owed = False  # a head is whole and its body is not
    _refusal: str | None = None  # a 400 owed once the answers in flight are written
    _body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._max_head = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self._head_bytes = 0
        self._in_head = True
        self._lane_paths = lane_paths_of(self.app)
        super().connection_made(CorkedTransport(transport, self.loop))  # type: ignore[arg-type]
        # idle from the start: uvicorn arms its timer only after a first answer, so a connection
        # that never sends a byte would hold its slot for ever
        self._idle_since = self.loop.time()
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self._keep_alive_due
        )

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # the parser has failed: nothing after the refused bytes is read
        was_in_head = self._in_head
        super().data_received(data)
        if was_in_head and self._in_head:  # a read that began and ended inside one head
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head and not self.transport.is_closing():
                self.send_400_response("Request head too large")
        if self._body_owed and self._body_timer is None and not self.transport.is_closing():
            self._body_timer = self.loop.call_later(BODY_SECONDS, self._body_due)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._body_owed = True  # until on_message_complete, in this read or a later one
        self._idle_since = None  # a request: busy until it is answered
        self._bytes_while_idle = False
        if self.url in self._lane_paths and self._lane_open():
            self._start_lane()
        else:
            super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn writes the 400 and closes at once, dropping the answers of the requests before
        the refused bytes that are still in flight or queued, though the app runs them (an
        ``order.mina`` pipelined with garbage made its order and its caller never heard). Here
        the 400 follows their answers, as HTTP/1.1 wants answers in request order."""
        in_flight = self.cycle is not None and not self.cycle.response_complete
        # (a body the parser refuses, a bad chunk say, is the request's own fault: refused now)
        if in_flight and not self._body_owed and not self.transport.is_closing():
            if self._refusal is None:
                self._refusal = msg
                self.flow.pause_reading()
            return
        super().send_400_response(msg)

    def on_message_complete(self) -> None:
        self._body_owed = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _body_due(self) -> None:
        self._body_timer = None
        if self._body_owed and not self.transport.is_closing():
            self.logger.debug("a body not whole %.0f s after its head: closed", BODY_SECONDS)
            self.transport.close()

    # ---- the gateway's lane (web/lane.py) ----------------------------------------------------

    def _lane_open(self) -> bool:
        """A POST with nothing that needs uvicorn's own cycle (pipelined behind another request,
        100-continue, an upgrade, the concurrency limit, the access log, a root path)."""
        limit = self.limit_concurrency
        return (
            self.parser.get_method() == b"POST"
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
            and not self.expect_100_continue
            and not self.parser.should_upgrade()
            and not self.access_log
            and not self.root_path
            and (limit is None or (len(self.connections) < limit and len(self.tasks) < limit))
        )

    def _start_lane(self) -> None:
        http_version = self.parser.get_http_version()
        scope = self.scope
        scope["method"] = "POST"
        if http_version != "1.1":
            scope["http_version"] = http_version
        scope["path"] = self.url.decode("ascii")
        scope["raw_path"] = self.url
        scope["query_string"] = b""
        self.cycle = LaneCycle(
            scope,
            self.transport,
            self.flow,
            self.logger,
            self.server_state.default_headers,
            http_version != "1.0" and self.parser.should_keep_alive(),
            self.on_response_complete,
        )
        self._start_asgi_task(self.cycle, self.app)

    # ---- keep-alive: one timer per idle spell ------------------------------------------------

    def _unset_keepalive_if_required(self) -> None:
        # Bytes arrived (uvicorn cancels its timer here). The first bytes after the connection
        # went idle (a new head, or the rest of a body already answered) restart the idle clock
        # and later ones do not: a head must be whole within timeout_keep_alive of its first
        # byte, so a client trickling a byte at a time cannot hold its slot for ever (uvicorn's
        # timer never fires for one). A request whose head is whole is busy
        # (on_headers_complete) until it is answered.
        if self._idle_since is not None and not self._bytes_while_idle:
            self._idle_since = self.loop.time()
            self._bytes_while_idle = True

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self._bytes_while_idle = False
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        if self._refusal is not None:  # every answer before the refused bytes is written
            super().send_400_response(self._refusal)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_due
            )

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None or self.transport.is_closing():
            return  # busy: the next answer arms it again
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_due)
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
