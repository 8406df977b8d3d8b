"""A small keep-alive HTTP/1.1 client: the channels' (WeChat Pay's and Alipay's API calls, on
every order's path).

It does what the channels need and nothing else, on an asyncio ``Protocol`` with httptools'
response parser (the one uvicorn uses): client CPU per prepay-sized ``POST`` 101-106 µs with
aiohttp, 22-23 µs here, and no ``httpx.Request``/``httpx.Response`` built around it; gateway CPU
per mina order -18 % (docs/benchmarks.md, "Round three"). What it does:

* one pool of at most ``connections`` connections, idle ones kept per origin for
  ``KEEPALIVE_SECONDS`` and reused newest first;
* TLS with the process's shared context (certifi's bundle), the host name checked and sent as SNI;
* ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY``, read once as httpx reads them: an
  ``https`` address through a ``CONNECT`` tunnel, an ``http`` one in absolute form, ``user:pass``
  in the proxy's address sent as ``Proxy-Authorization``;
* a deadline to get a connection (pool wait and connect: ``ConnectTimeout``) and one for the
  answer (``ReadTimeout``), each ``timeout`` seconds;
* answers with a length, chunked, or read to the connection's end; at most ``max_answer_bytes``
  of body, decoded too, and ``MAX_HEAD_BYTES`` of head; ``gzip`` and ``deflate`` decoded (the
  only encodings it asks for);
* a request is sent once: when a connection fails or closes before its answer is read the
  request fails (``RemoteProtocolError``: the server may have acted on it), it is never sent
  again on another connection. A connection is reused only after a whole answer that allowed it.

Failures are httpx's exception classes, so the channel handles this client and the
``httpx.AsyncClient`` tests inject the same way. No cookies, no redirects, no ``~/.netrc``.

Over TLS, a connection closed without the peer's ``close_notify`` still ends an answer framed by
the connection's end: asyncio reports no difference (httpx behaves the same). No answer a channel
acts on depends on it: WeChat Pay and Alipay frame by length or chunks, and sign what they send,
so a cut body fails verification.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import ssl
import time
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import httptools
import httpx

from jubao.httppool import KEEPALIVE_SECONDS, parsed_url, shared_ssl_context

__all__ = ["Answer", "AnswerLike", "AnswerTooLarge", "Http1Client", "Outbound"]

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an API answer; bills are downloaded by another client
MAX_HEAD_BYTES = 64 * 1024  # WeChat Pay's answer heads are under 2 KB; h11 (httpx) allows 16 KB
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer passed ``max_answer_bytes`` (before or after decoding) or its head
    ``MAX_HEAD_BYTES``: nothing of it is returned, and the connection is closed."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """One request as the channel signs it: ``url.raw_path`` is the target put on the wire."""

    method: str
    url: httpx.URL
    headers: Sequence[tuple[str, str]]
    content: bytes
    timeout: float


class AnswerLike(Protocol):
    """What the channel reads of an answer: ``Answer``, or the ``httpx.Response`` of an injected
    client. Header names are looked up in lower case (httpx's lookups ignore case)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...


class Answer:
    """Status, headers (names lower-cased; repeated ones joined with ``", "``) and whole body:
    the part of ``httpx.Response`` the channel reads, which an ``httpx.Response`` also is."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


_Key = tuple[str, str, int, str | None]  # a pool's: scheme, host, port, proxy


@dataclass(frozen=True, slots=True)
class _Route:
    """Where a request for one origin goes, and the head lines that do not change."""

    key: _Key
    host: str
    tls: bool
    connect_to: tuple[str, int]  # the origin, or the proxy
    tunnel: bytes | None  # the CONNECT head, when https goes through a proxy
    absolute: str | None  # the origin, for an http request through a proxy (absolute form)
    fixed_head: str  # Host (and Proxy-Authorization) lines


class _Connection(asyncio.Protocol):
    """One connection and the answer it is reading; httptools calls the ``on_*`` methods."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_bytes: int) -> None:
        self._loop = loop
        self._max_bytes = max_bytes
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Answer] | None = None
        self._tunnel: asyncio.Future[int] | None = None  # waiting for a proxy's CONNECT answer
        self._tunnel_head = b""
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._head_size = 0  # bytes fed while the head was not whole
        self._until_close = False  # no length and not chunked: the body ends with the connection
        self._headers_done = False
        self._problem = ""  # why a callback stopped the parser

    # ---- asyncio ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._tunnel is not None:
            self._tunnel_data(data)
            return
        if self._waiter is None or self._waiter.done():
            self._abort()  # bytes nobody asked for: this connection cannot be trusted again
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the server switched protocols")
        except httptools.HttpParserError as exc:
            if self._problem:  # a bound the answer passed
                self._fail(self._problem, AnswerTooLarge)
            else:
                self._fail(f"malformed answer: {exc}")
            return
        if not self._headers_done:  # httptools keeps a head's bytes until it is whole
            self._head_size += len(data)
            if self._head_size > MAX_HEAD_BYTES:
                self._fail(f"answer head larger than {MAX_HEAD_BYTES} bytes", AnswerTooLarge)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._tunnel is not None and not self._tunnel.done():
            self._tunnel.set_exception(httpx.ProxyError("the proxy closed the connection"))
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and self._until_close and exc is None:
            self._finish()  # the connection's end is the body's end (a reset only cuts it)
        else:
            self._fail("the server closed the connection before answering")

    # ---- httptools --------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():
            self._problem = "a second answer to one request"
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        known = self._headers.get(key)
        self._headers[key] = text if known is None else f"{known}, {text}"

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._headers_done = True
        headers = self._headers
        self._until_close = (
            "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
            and self._status not in (204, 304)
            and self._status >= 200
        )

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_bytes:
            self._problem = f"answer larger than {self._max_bytes} bytes"
            raise _Stop
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # 100 Continue and its kind: the answer follows
            self._start()
            return
        self.reusable = self._parser.should_keep_alive() and not self._until_close
        self._finish()

    # ---- the request ------------------------------------------------------------------------

    def exchange(self, message: bytes) -> asyncio.Future[Answer]:
        """Write ``message``; the future is its answer's."""
        assert self.transport is not None
        self._start()
        self._waiter = waiter = self._loop.create_future()
        self.reusable = False
        self.transport.write(message)
        return waiter

    def _start(self) -> None:
        self._status = 0
        self._headers = {}
        self._body = []
        self._size = 0
        self._head_size = 0
        self._until_close = False
        self._headers_done = False

    def _finish(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        encoding = self._headers.get("content-encoding")
        if encoding is not None and body:  # no body (a 204, say) is no stream to decode
            try:
                body = _decoded(body, encoding, self._max_bytes)
            except _TooLarge:
                self.reusable = False
                why = f"answer larger than {self._max_bytes} bytes once decoded"
                waiter.set_exception(AnswerTooLarge(why))
                return
            except (zlib.error, ValueError) as exc:
                self.reusable = False
                waiter.set_exception(httpx.DecodingError(f"undecodable answer: {exc}"))
                return
        waiter.set_result(Answer(self._status, self._headers, body))

    def _fail(
        self, why: str, error: type[httpx.RemoteProtocolError] = httpx.RemoteProtocolError
    ) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error(why))
        self._abort()

    def _abort(self) -> None:
        self.reusable = False
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self, *, abort: bool = False) -> None:
        if abort:
            self._abort()
            return
        self.reusable = False
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # ---- a proxy's tunnel -------------------------------------------------------------------

    async def open_tunnel(self, head: bytes) -> None:
        """Send ``CONNECT``; return once the proxy answered 2xx (its answer has no body). The
        caller's connect deadline bounds the wait."""
        assert self.transport is not None
        self._tunnel = self._loop.create_future()
        self.transport.write(head)
        try:
            status = await self._tunnel
        finally:
            self._tunnel = None
        if not 200 <= status < 300:
            raise httpx.ProxyError(f"the proxy refused the tunnel (HTTP {status})")

    def _tunnel_data(self, data: bytes) -> None:
        tunnel = self._tunnel
        assert tunnel is not None
        self._tunnel_head += data
        end = self._tunnel_head.find(b"\r\n\r\n")
        if tunnel.done():
            return
        if end < 0:
            if len(self._tunnel_head) > 16384:
                tunnel.set_exception(httpx.ProxyError("the proxy's answer has no end"))
            return
        if end + 4 != len(self._tunnel_head):  # nothing may follow before our TLS hello
            tunnel.set_exception(httpx.ProxyError("the proxy sent bytes after its answer"))
            return
        status_line = self._tunnel_head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            tunnel.set_exception(httpx.ProxyError("the proxy's answer is not HTTP"))
            return
        tunnel.set_result(int(status_line[1]))

    def after_tunnel(self, transport: asyncio.Transport) -> None:
        """TLS now runs over the tunnel: a fresh parser for what the origin sends."""
        self.transport = transport
        self._parser = httptools.HttpResponseParser(self)


class _Stop(Exception):
    """Raised in a parser callback to stop parsing (``_problem`` says why)."""


class _TooLarge(Exception):
    """A body that decodes to more than the answer's bound."""


def _decoded(body: bytes, encoding: str, limit: int) -> bytes:
    for coding in reversed([part.strip().lower() for part in encoding.split(",")]):
        if coding == "gzip":
            body = _inflated(body, zlib.MAX_WBITS | 16, limit)
        elif coding == "deflate":
            try:
                body = _inflated(body, zlib.MAX_WBITS, limit)  # zlib-wrapped, as the standard says
            except zlib.error:
                body = _inflated(body, -zlib.MAX_WBITS, limit)  # raw, as some servers send
        elif coding not in ("identity", ""):
            raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return body


def _inflated(body: bytes, wbits: int, limit: int) -> bytes:
    """``zlib.decompress``, but stopping past ``limit`` bytes: a small body can inflate a
    thousandfold, and the bound is on what is kept in memory."""
    inflater = zlib.decompressobj(wbits)
    plain = inflater.decompress(body, limit + 1)
    if len(plain) > limit:
        raise _TooLarge
    if not inflater.eof:
        raise zlib.error("incomplete or truncated stream")
    return plain


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise httpx.LocalProtocolError(f"header {name!r} would break the request head")


class Http1Client:
    """``send`` an ``Outbound`` and get its ``Answer``; see the module's text."""

    def __init__(
        self,
        *,
        connections: int = 256,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connections = connections
        self._max_bytes = max_answer_bytes
        self._ssl = ssl_context
        self._idle: dict[_Key, collections.deque[_Connection]] = {}
        self._count = 0  # connections open, idle or busy
        self._waiting: collections.deque[tuple[_Key, asyncio.Future[_Connection | None]]] = (
            collections.deque()
        )
        self._routes: dict[tuple[str, bytes], _Route] = {}
        self._closed = False
        # Read once, as httpx does when a client is made.
        self._proxies = urllib.request.getproxies_environment()

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def send(self, request: Outbound) -> Answer:
        if self._closed:
            raise RuntimeError("the client has been closed")  # as httpx.AsyncClient does
        url = request.url
        route = self._routes.get((url.scheme, url.netloc))
        if route is None:
            route = self._route(url)
        target = url.raw_path.decode("ascii")
        if route.absolute is not None:
            target = route.absolute + target
        lines = [f"{request.method} {target} HTTP/1.1\r\n{route.fixed_head}"]
        for name, value in request.headers:
            _check_header(name, value)
            lines.append(f"{name}: {value}\r\n")
        content = request.content
        if content or request.method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(content)}\r\n")
        lines.append("\r\n")
        message = "".join(lines).encode("latin-1") + content

        connection = self._reuse(route.key)
        if connection is None:
            try:
                async with asyncio.timeout(request.timeout):
                    connection = await self._checkout(route)
            except TimeoutError:
                raise httpx.ConnectTimeout("no connection within the deadline") from None
        return await self._exchange(connection, route.key, message, request.timeout)

    async def _exchange(
        self, connection: _Connection, key: _Key, message: bytes, seconds: float
    ) -> Answer:
        waiter = connection.exchange(message)
        timer = asyncio.get_running_loop().call_later(seconds, _expire, waiter)
        try:
            answer = await waiter
        except BaseException:  # failed, timed out or cancelled: the answer may still come
            self._drop(connection, abort=True)
            raise
        finally:
            timer.cancel()
        if connection.reusable and not connection.closed and not self._closed:
            self._checkin(connection, key)
        else:
            self._drop(connection)
        return answer

    # ---- the pool: ``_count`` connections open (idle or busy), at most ``_connections`` -------

    def _reuse(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the newest: the least likely to be closed by the server
            if not _open(connection) or now - connection.idle_since > KEEPALIVE_SECONDS:
                self._drop(connection)
                continue
            return connection
        return None

    async def _checkout(self, route: _Route) -> _Connection:
        """A new connection, or an idle one handed over by a request that finished, once the
        pool has room. The caller bounds the wait."""
        if self._count >= self._connections:
            self._evict_idle()
        if self._count < self._connections:
            self._count += 1
            return await self._connect_in_slot(route)
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((route.key, waiter))
        try:
            handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                late = waiter.result()  # handed over as the wait ended
                if late is None:
                    self._release()
                else:
                    self._checkin(late, route.key)
            raise
        if handed is not None:
            if _open(handed):
                return handed
            handed.close()  # closed as it was handed over: its slot serves a new connection
        return await self._connect_in_slot(route)  # a slot was handed over

    async def _connect_in_slot(self, route: _Route) -> _Connection:
        try:
            return await self._connect(route)
        except BaseException:
            self._release()
            raise

    def _checkin(self, connection: _Connection, key: _Key) -> None:
        """A connection whose answer was read whole: to the first request waiting for room
        (itself if the origin is the same, its slot otherwise), or idle."""
        while self._waiting:
            wanted, waiter = self._waiting.popleft()
            if waiter.done():
                continue
            if wanted == key:
                waiter.set_result(connection)
            else:
                connection.close()
                waiter.set_result(None)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(key, collections.deque()).append(connection)

    def _release(self) -> None:
        """A connection's slot is free: to the first request waiting for one, or counted off."""
        while self._waiting:
            _, waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._count -= 1

    def _evict_idle(self) -> None:
        """Close the oldest idle connection of any origin: its slot is wanted for a new one."""
        oldest: collections.deque[_Connection] | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest[0].idle_since):
                oldest = idle
        if oldest is not None:
            self._drop(oldest.popleft())

    def _drop(self, connection: _Connection, *, abort: bool = False) -> None:
        """Close ``connection`` and give its slot back."""
        connection.close(abort=abort)
        self._release()

    async def _connect(self, route: _Route) -> _Connection:
        loop = asyncio.get_running_loop()
        context = self._ssl or shared_ssl_context()
        host, port = route.connect_to
        direct_tls = route.tls and route.tunnel is None
        try:
            transport, connection = await loop.create_connection(
                lambda: _Connection(loop, self._max_bytes),
                host,
                port,
                ssl=context if direct_tls else None,
                server_hostname=route.host if direct_tls else None,
            )
            if route.tunnel is not None:
                try:
                    await connection.open_tunnel(route.tunnel)
                    tls = await loop.start_tls(
                        transport, connection, context, server_hostname=route.host
                    )
                except BaseException:
                    transport.abort()
                    raise
                if tls is None:
                    raise httpx.ConnectError("TLS could not start over the proxy's tunnel")
                connection.after_tunnel(tls)
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, a name unknown, TLS
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return connection

    def _route(self, url: httpx.URL) -> _Route:
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}")
        host = url.host
        port = url.port or _DEFAULT_PORTS[scheme]
        netloc = url.netloc.decode("ascii")
        head = f"Host: {netloc}\r\nAccept-Encoding: gzip, deflate\r\n"
        proxy = self._proxy(scheme, netloc)
        tunnel: bytes | None = None
        absolute: str | None = None
        connect_to = (host, port)
        if proxy is not None:
            proxy_url = parsed_url(proxy)
            if proxy_url.scheme != "http":
                raise httpx.UnsupportedProtocol(f"only http:// proxies are supported ({proxy})")
            connect_to = (proxy_url.host, proxy_url.port or 80)
            credentials = _proxy_credentials(proxy_url)
            if scheme == "https":
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                tunnel = (
                    f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{credentials}\r\n"
                ).encode("latin-1")
            else:
                absolute = f"{scheme}://{netloc}"
                head += credentials
        route = _Route(
            key=(scheme, host, port, proxy),
            host=host,
            tls=scheme == "https",
            connect_to=connect_to,
            tunnel=tunnel,
            absolute=absolute,
            fixed_head=head,
        )
        self._routes[(scheme, url.netloc)] = route
        return route

    def _proxy(self, scheme: str, netloc: str) -> str | None:
        """HTTP(S)_PROXY / ALL_PROXY for the scheme, unless NO_PROXY names the host."""
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if proxy and bypass(netloc, self._proxies):
            return None
        return proxy or None

    async def aclose(self) -> None:
        self._closed = True
        while self._waiting:  # requests waiting for room are not sent at all
            _, waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the client has been closed"))
        for idle in self._idle.values():
            for connection in idle:
                self._drop(connection)
        self._idle.clear()
        # busy connections are closed as their requests end (the client being closed)


def _open(connection: _Connection) -> bool:
    """Not known to be closed: a request written on it may be answered."""
    transport = connection.transport
    return not connection.closed and transport is not None and not transport.is_closing()


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("no answer within the deadline"))


def _proxy_credentials(proxy_url: httpx.URL) -> str:
    if not proxy_url.username:
        return ""
    pair = f"{proxy_url.username}:{proxy_url.password}".encode()
    return f"Proxy-Authorization: Basic {base64.b64encode(pair).decode('ascii')}\r\n"
