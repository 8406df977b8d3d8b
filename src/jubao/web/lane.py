"""The gateway's lane: a POST to one of the app's own endpoints (``/gateway``, ``/gateway/agent``)
is carried by a lighter request cycle than uvicorn's, inside jubao's HTTP protocol
(``web/corking.py``).

uvicorn's ``RequestResponseCycle`` is built for any app: an ``asyncio.Event`` per request, every
answer's header names and values checked by two regular expressions, chunked framing worked out,
the head and the body written apart. The gateway's front (``web/fastpath.py``) always answers one
way: a status, headers it made itself (the request id among them only once ``accepted_request_id``
has accepted it) with a ``content-length``, then the whole body in one message. ``LaneCycle`` is
uvicorn's cycle for exactly that: the same ``receive`` (it inherits it), the same connection rules
(keep-alive, ``connection: close``, a client gone, flow control, the server's default headers such
as ``date``), and a ``send`` that writes the head and the body as one. Anything else it is sent
(no ``content-length``, a body longer or shorter than announced, a message out of order) is an
error, as in uvicorn: the connection is closed. Two differences, both outside what the front
sends (``tests/web/test_lane_adversarial.py`` pins them): a head is held until its body, so an
app that fails between the two leaves nothing written where uvicorn wrote the head alone; and
header names are taken as sent, lower-case (``web/answer.py``'s), where uvicorn lower-cases them.

An app opts in by naming the raw request targets it serves this way (``lane_paths``); the protocol
takes the lane only for a POST to exactly one of them with nothing unusual about it (no
``Expect: 100-continue``, no upgrade, no request in flight before it on the connection, no
concurrency limit reached, no access log, no root path); every other request goes through
uvicorn's cycle.
Measured: docs/benchmarks.md, round five.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

__all__ = ["LaneCycle", "lane_paths_of"]

_NO_PATHS: frozenset[bytes] = frozenset()


def lane_paths_of(app: Any) -> frozenset[bytes]:
    """The raw request targets ``app`` takes on the lane; none for an app that did not opt in (one
    wrapped by uvicorn's forwarded-headers middleware, say: that one must see every request)."""
    paths = getattr(app, "lane_paths", _NO_PATHS)
    return paths if isinstance(paths, frozenset) else _NO_PATHS


def _tokens(value: bytes) -> list[bytes]:
    """A ``connection`` header's tokens, as uvicorn's cycle reads them."""
    return [token.strip() for token in value.lower().split(b",")]


class LaneCycle(RequestResponseCycle):
    """uvicorn's request cycle for an app that answers with ``content-length`` and trusted headers
    (see the module's docstring); ``receive`` and ``run_asgi`` are uvicorn's own."""

    def __init__(  # uvicorn's parameters, minus those the lane never has (access log, 100-continue)
        self,
        scope: Any,
        transport: asyncio.Transport,
        flow: FlowControl,
        logger: logging.Logger,
        default_headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        on_response: Callable[..., None],
    ) -> None:
        self.scope = scope
        self.transport = transport
        self.flow = flow
        self.logger = logger
        self.access_logger = logger
        self.access_log = False
        self.default_headers = default_headers
        self.message_event = asyncio.Event()
        self.on_response = on_response
        self.disconnected = False
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = False
        self.body = bytearray()
        self.more_body = True
        self.response_started = False
        self.response_complete = False
        self.chunked_encoding = False
        self.expected_content_length = 0
        self._head: list[bytes] = []

    async def send(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected 'http.response.start', but got '{kind}'.")
            self.response_started = True
            self._head = self._start(message["status"], message.get("headers", ()))
        elif not self.response_complete:
            if kind != "http.response.body":
                raise RuntimeError(f"Expected 'http.response.body', but got '{kind}'.")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message '{kind}' sent, after response completed.")

    def _start(self, status: int, headers: Any) -> list[bytes]:
        lines: list[bytes] = []
        length: int | None = None
        says_close = False
        for name, value in (*self.default_headers, *headers):
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and b"close" in _tokens(value):
                self.keep_alive = False
                says_close = True  # uvicorn then adds no second "connection: close"
            lines += (name, b": ", value, b"\r\n")
        if length is None:
            raise RuntimeError("The lane answers with a content-length only.")
        added = not self.keep_alive and not says_close
        if added:
            lines.append(b"connection: close\r\n")
        block = b"".join(lines)
        # The app made these headers itself; a line break inside one is the one thing that could
        # still split the head, so only that is checked: one per line, each a CRLF. (Counted over
        # the block: ``bytes in bytes`` first tries the needle as an integer, an exception each.)
        ends = len(lines) // 4 + added
        if block.count(b"\n") != ends or block.count(b"\r") != ends or block.count(b"\r\n") != ends:
            raise RuntimeError("Invalid HTTP header.")
        self.expected_content_length = length
        return [STATUS_LINE[status], block, b"\r\n"]

    def _body(self, body: bytes, more_body: bool) -> None:
        self.expected_content_length -= len(body)
        if self.expected_content_length < 0:
            raise RuntimeError("Response content longer than Content-Length")
        if self._head:
            self._head.append(body)
            self.transport.write(b"".join(self._head))
            self._head = []
        elif body:
            self.transport.write(body)
        if more_body:
            return
        if self.expected_content_length != 0:
            raise RuntimeError("Response content shorter than Content-Length")
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()
