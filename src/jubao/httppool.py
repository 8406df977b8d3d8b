"""Outbound HTTP: several small httpx pools used in turn, and a leaner client on aiohttp.

httpcore does work proportional to its pool's size on every request (a ``poll()`` per idle
connection in ``has_expired``, and an idle count that walks the pool): one 256-connection pool
cost ~2.8 ms of CPU per request at 64 in flight, sixteen pools of sixteen ~0.5 ms (profiled with
py-spy, docs/benchmarks.md). The Alipay channel uses ``PooledClient``.

The WeChat Pay channel's prepay call is on every order's path: it uses ``AiohttpClient``, which
speaks the two methods of ``httpx.AsyncClient`` the channel calls (``build_request`` and ``send``,
httpx requests and responses) over aiohttp's connection pool, about a fifth of the CPU per request
(docs/benchmarks.md, "The outbound HTTP client"). Tests inject an ``httpx.AsyncClient`` (a
``MockTransport`` or ``ASGITransport``) in its place, as before. The notification dispatcher
posts over ``PinnedAiohttpClient``: to vetted addresses only, its answers bounded.
"""

from __future__ import annotations

import functools
import itertools
import socket
import ssl
import urllib.request
from collections.abc import Mapping
from typing import Any

import httpx
from httpx._client import ACCEPT_ENCODING, USER_AGENT

__all__ = [
    "AiohttpClient",
    "PinnedAiohttpClient",
    "PooledClient",
    "parsed_url",
    "shared_ssl_context",
]

# Idle connections are dropped before the 5 s after which common servers (uvicorn, nginx's
# default is longer) close them: reusing one as the server closes it fails the request.
KEEPALIVE_SECONDS = 4.0


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context (httpx's: certifi's CA bundle) for every client of the process: loading
    the bundle costs ~50 ms of CPU, once per context."""
    return httpx.create_ssl_context()


class PooledClient:
    """``pools`` httpx clients of ``per_pool`` connections each, handed out round robin."""

    def __init__(self, *, pools: int = 16, per_pool: int = 16, **client_options: Any) -> None:
        limits = httpx.Limits(
            max_connections=per_pool,
            max_keepalive_connections=per_pool,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        client_options.setdefault("verify", shared_ssl_context())
        self._clients = [
            httpx.AsyncClient(limits=limits, **client_options) for _ in range(max(1, pools))
        ]
        self._turn = itertools.cycle(self._clients)

    def next(self) -> httpx.AsyncClient:
        return next(self._turn)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


# What httpx.AsyncClient puts on every request before the caller's headers: the same here, so
# the upstream sees the same request whichever client sent it.
_DEFAULT_HEADERS = (
    ("Accept", "*/*"),
    ("Accept-Encoding", ACCEPT_ENCODING),  # what httpx can decode here
    ("Connection", "keep-alive"),
    ("User-Agent", USER_AGENT),
)


@functools.lru_cache(maxsize=1024)
def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per text: a channel calls a few addresses over and over, the
    dispatcher its merchants' callbacks; an ``httpx.URL`` is immutable, so sharing it is safe."""
    return httpx.URL(url)


class AiohttpClient:
    """``build_request`` and ``send`` as ``httpx.AsyncClient`` has them (httpx requests in,
    httpx responses out, httpx's exceptions), over one aiohttp connection pool.

    The request is built by httpx, so its path and query are byte for byte what a caller signs
    (``request.url.raw_path``) and what goes on the wire (the URL is passed on encoded). The body
    is read whole and decoded by httpx (``Content-Encoding``), as ``httpx.AsyncClient.send``
    does. HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY are read once, as httpx reads them by
    default (and, like httpx, not ``~/.netrc``). Responses' cookies are not kept (a payment API
    sets none).
    """

    def __init__(self, *, timeout: float, connections: int = 256) -> None:
        self._timeout = timeout
        self._connections = connections
        self._session: Any = None  # created on first use, inside the event loop that uses it
        self._closed = False
        # Read once, as httpx does when a client is made (aiohttp's trust_env would read the
        # environment and ~/.netrc again for every request: 15 % of the gateway's samples).
        self._proxies = urllib.request.getproxies_environment()
        self._proxy_of: dict[tuple[str, str], str | None] = {}

    @property
    def is_closed(self) -> bool:
        return self._closed

    def next(self) -> AiohttpClient:
        """The client itself (one pool): ``PooledClient``'s interface."""
        return self

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Request:
        # httpx.AsyncClient's merge (defaults, then the caller's, replacing by name) as one list:
        # httpx.Headers.update and URL parsing were 60 % of building a request (docs/benchmarks.md)
        merged = list(_DEFAULT_HEADERS)
        if headers:
            replaced = {name.lower() for name in headers}
            merged = [pair for pair in merged if pair[0].lower() not in replaced]
            merged.extend(headers.items())
        seconds = self._timeout if timeout is None else timeout
        return httpx.Request(
            method,
            parsed_url(url),
            params=params,
            content=content,
            headers=merged,
            extensions={"timeout": {"connect": seconds, "read": seconds, "pool": seconds}},
        )

    def _proxy(self, url: httpx.URL) -> str | None:
        """HTTP(S)_PROXY / ALL_PROXY for the URL's scheme, unless NO_PROXY names its host."""
        key = (url.scheme, url.netloc.decode("ascii"))
        if key not in self._proxy_of:
            proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
            host = key[1]
            bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
            if proxy and bypass(host, self._proxies):
                proxy = None
            self._proxy_of[key] = proxy or None
        return self._proxy_of[key]

    def _open(self) -> Any:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self._connections,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=shared_ssl_context(),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # httpx decodes, as it would have
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )
        return self._session

    async def send(self, request: httpx.Request) -> httpx.Response:
        import aiohttp
        from yarl import URL

        if self._closed:
            raise RuntimeError("the client has been closed")  # as httpx.AsyncClient does
        session = self._session or self._open()
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=limits.get("pool"),  # waiting for a pooled connection, then connecting
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),
        )
        try:
            async with session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=[
                    (key.decode("latin-1"), value.decode("latin-1"))
                    for key, value in request.headers.raw
                    if key.lower() not in (b"host", b"content-length")  # aiohttp writes both
                ],
                data=request.content if request.content else None,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy(request.url),
            ) as answer:
                body = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=list(answer.raw_headers),
                    content=body,
                    request=request,
                )
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise _as_httpx_error(exc, request) from exc

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


def _as_httpx_error(exc: BaseException, request: httpx.Request | None) -> httpx.HTTPError:
    """The httpx exception ``httpx.AsyncClient`` would have raised for aiohttp's ``exc``."""
    import aiohttp

    error: type[httpx.HTTPError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout
    elif isinstance(exc, TimeoutError):
        error = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        error = httpx.ConnectError
    elif isinstance(
        exc,  # the connection dropped, or a malformed answer
        (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError),
    ):
        error = httpx.RemoteProtocolError
    else:
        error = httpx.ReadError
    return error(str(exc), request=request)


class PinnedAiohttpClient:
    """POSTs to an address already vetted, over aiohttp: the notification dispatcher's client
    (``notify.urlguard.Destination`` says why it connects to an address, not a name).

    It never resolves a name: its resolver refuses every lookup, so a URL whose host is not an
    address literal fails to connect. The caller's ``Host`` header is sent as given and, for
    https, ``server_hostname`` is the name sent as SNI and verified against the certificate
    (aiohttp keys pooled connections by it too). At most ``max_bytes`` of the answer are read;
    a connection whose answer was not read to its end is closed, not reused, and so is every
    connection of a request sent with ``keep_alive=False`` (a pool of its own). No proxy, no
    ``~/.netrc``, no cookies, no redirects. Failures are httpx's exceptions.
    """

    def __init__(self, *, connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self._connections = connections
        self._ssl = ssl_context
        # by keep_alive; each created on first use, inside the event loop that uses it
        self._sessions: dict[bool, Any] = {}
        self._timeouts: dict[float, Any] = {}
        self._closed = False

    def _open(self, keep_alive: bool) -> Any:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self._connections,
            # force_close: closed after each answer whatever the server says
            force_close=not keep_alive,
            keepalive_timeout=KEEPALIVE_SECONDS if keep_alive else None,
            ssl=self._ssl or shared_ssl_context(),
            resolver=_no_resolver(),
        )
        session = self._sessions[keep_alive] = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )
        return session

    def _timeout(self, seconds: float) -> Any:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            import aiohttp

            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def post(
        self,
        url: httpx.URL,
        content: bytes,
        headers: list[tuple[str, str]],
        *,
        server_hostname: str | None,
        seconds: float,
        max_bytes: int,
        keep_alive: bool = True,
    ) -> tuple[int, bytes]:
        """POST ``content`` within ``seconds``; the answer's status and at most ``max_bytes`` of
        its (decoded) body. ``keep_alive=False`` closes the connection after the answer."""
        import aiohttp
        from yarl import URL

        if self._closed:
            raise RuntimeError("the client has been closed")  # as httpx.AsyncClient does
        session = self._sessions.get(keep_alive) or self._open(keep_alive)
        try:
            async with session.post(
                URL(str(url), encoded=True),
                data=content,
                headers=headers,
                server_hostname=server_hostname,
                timeout=self._timeout(seconds),
                allow_redirects=False,
            ) as answer:
                body = b""
                while len(body) < max_bytes:
                    chunk = await answer.content.read(max_bytes - len(body))
                    if not chunk:
                        break
                    body += chunk
                if not answer.content.at_eof():
                    answer.close()  # the connection too: never reused with an answer unread
                return answer.status, body
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise _as_httpx_error(exc, None) from exc

    async def aclose(self) -> None:
        self._closed = True
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()


def _no_resolver() -> Any:
    import aiohttp.abc

    class NoResolver(aiohttp.abc.AbstractResolver):
        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[Any]:
            message = f"{host} is not an address: this client resolves no names"
            raise socket.gaierror(socket.EAI_NONAME, message)

        async def close(self) -> None:
            return None

    return NoResolver()
