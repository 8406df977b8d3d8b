"""Outbound HTTP: what the clients share, and the notification dispatcher's client on aiohttp.

Both channels' calls go over ``jubao.http1``, which shares ``parsed_url``, ``shared_ssl_context``
and ``KEEPALIVE_SECONDS`` with this module. The notification dispatcher posts over
``PinnedAiohttpClient``: to vetted addresses only, its answers bounded.
"""

from __future__ import annotations

import functools
import socket
import ssl
from typing import Any

import httpx

__all__ = [
    "KEEPALIVE_SECONDS",
    "PinnedAiohttpClient",
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


@functools.lru_cache(maxsize=1024)
def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per text: a channel calls a few addresses over and over, the
    dispatcher its merchants' callbacks; an ``httpx.URL`` is immutable, so sharing it is safe."""
    return httpx.URL(url)


def _as_httpx_error(exc: BaseException) -> httpx.HTTPError:
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
    return error(str(exc))


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
            raise _as_httpx_error(exc) from exc

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
