"""The WeChat channel's outbound client (``jubao.http1.Http1Client``) against bare servers on
loopback: the wire request is the one httpx sends, answers are read however they are framed and
bounded, a request is sent once, connections are pooled and bounded, TLS is verified, proxies are
used as httpx uses them, and failures are httpx's exceptions."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import jubao.http1
from jubao.http1 import Answer, AnswerTooLarge, Http1Client, Outbound
from jubao.httppool import parsed_url
from tests.notify.tls import tls_merchant
from tests.support.rawhttp import read_request
from tests.support.recording import head_lines, ok, recording, serving
from tests.support.servers import listening_socket

HEADERS = [
    ("Accept", "application/json"),
    ("User-Agent", "jubao/test"),
    ("Wechatpay-Serial", "K1"),
    ("Authorization", 'WECHATPAY2-SHA256-RSA2048 mchid="1900000001"'),
]
PATH = "/v3/pay/partner/transactions/out-trade-no/%E4%B8%AD%E6%96%87"
PARAMS = {"sp_mchid": "1900000001", "sub_mchid": "1900000101"}


def outbound(
    url: str, *, method: str = "GET", content: bytes = b"", timeout: float = 5
) -> Outbound:
    headers = [*HEADERS, ("Content-Type", "application/json")] if content else HEADERS
    return Outbound(method, parsed_url(url), headers, content, timeout)


@contextlib.asynccontextmanager
async def client(**options: object) -> AsyncIterator[Http1Client]:
    lean = Http1Client(**options)  # type: ignore[arg-type]
    try:
        yield lean
    finally:
        await lean.aclose()


# ---- the request on the wire --------------------------------------------------------------------


async def test_the_wire_request_is_the_one_httpx_sends() -> None:
    """Same lines as httpx's but for the encodings asked for (httpx names the ones it can decode,
    this client gzip and deflate) and httpx's redundant ``Connection: keep-alive``."""
    async with recording(ok(b"{}")) as (url, recorder):
        for method, content in (("POST", b'{"a":1}'), ("GET", b"")):
            request = outbound(url + PATH + "?sp_mchid=1", method=method, content=content)
            async with httpx.AsyncClient() as reference:
                sent = reference.build_request(
                    method,
                    request.url,
                    headers=list(request.headers),
                    content=content or None,
                )
                assert (await reference.send(sent)).status_code == 200
            async with client() as lean:
                assert (await lean.send(request)).status_code == 200
    for httpx_head, lean_head in (recorder.heads[0:2], recorder.heads[2:4]):
        ignored = (b"accept-encoding:", b"connection:")
        lines = [
            [line for line in head_lines(head) if not line.lower().startswith(ignored)]
            for head in (httpx_head, lean_head)
        ]
        assert lines[0] == lines[1]
        assert b"Accept-Encoding: gzip, deflate" in lean_head.split(b"\r\n")
    assert recorder.bodies == [b'{"a":1}', b'{"a":1}', b"", b""]
    assert recorder.heads[0].startswith(b"POST " + PATH.encode() + b"?sp_mchid=1 HTTP/1.1\r\n")


async def test_a_header_that_would_break_the_head_is_refused() -> None:
    async with recording(ok(b"{}")) as (url, recorder), client() as lean:
        bad = Outbound("GET", parsed_url(url + "/x"), [("X-A", "1\r\nX-B: 2")], b"", 5)
        with pytest.raises(httpx.LocalProtocolError):
            await lean.send(bad)
    assert recorder.heads == []


# ---- answers ------------------------------------------------------------------------------------


async def test_answers_are_read_decoded_and_the_connection_kept() -> None:
    document = {"prepay_id": "wx201410272009395522657a690389285100"}
    packed = gzip.compress(json.dumps(document).encode())
    answer = ok(packed, b"Content-Encoding: gzip", b"Request-ID: rid-1", b"Set-Cookie: a=b")
    async with recording(answer) as (url, recorder), client() as lean:
        for _ in range(3):
            response = await lean.send(outbound(url + "/x"))
            assert isinstance(response, Answer)
            assert json.loads(response.content) == document
            assert response.headers["request-id"] == "rid-1"
    assert recorder.connections == 1  # kept alive and reused
    assert all(b"cookie" not in head.lower() for head in recorder.heads[1:])
    assert lean.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await lean.send(outbound(url + "/x"))


async def test_chunked_deflate_and_repeated_headers() -> None:
    body = zlib.compress(b'{"code":"OK"}')
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: deflate\r\n"
        b"Vary: a\r\nVary: b\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    async with recording(answer) as (url, recorder), client() as lean:
        for _ in range(2):
            response = await lean.send(outbound(url + "/x"))
            assert response.content == b'{"code":"OK"}'
            assert response.headers["vary"] == "a, b"
    assert recorder.connections == 1


async def test_an_answer_without_length_ends_with_its_connection_which_is_not_reused() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}"

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with serving(until_close) as url, client() as lean:
        for _ in range(2):
            assert (await lean.send(outbound(url + "/x"))).content == b"{}"
        assert not any(lean._idle.values())


async def test_an_answer_is_bounded_and_its_connection_dropped() -> None:
    answer = ok(b"x" * 100_000)
    async with recording(answer) as (url, recorder), client(max_answer_bytes=1000) as lean:
        for _ in range(2):
            with pytest.raises(AnswerTooLarge, match="larger than 1000"):
                await lean.send(outbound(url + "/x"))
    assert recorder.connections == 2


async def test_a_malformed_or_undecodable_answer_fails() -> None:
    async with recording(b"NOT HTTP AT ALL\r\n\r\n") as (url, _), client() as lean:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await lean.send(outbound(url + "/x"))
    not_gzip = ok(b"not gzip", b"Content-Encoding: gzip")
    async with recording(not_gzip) as (url, _), client() as lean:
        with pytest.raises(httpx.DecodingError):
            await lean.send(outbound(url + "/x"))


# ---- failures, and never sending a request twice ------------------------------------------------


async def test_failures_are_httpx_exceptions() -> None:
    sock = listening_socket()  # bound, never listening: the connection is refused
    async with client() as lean:
        with pytest.raises(httpx.ConnectError):
            await lean.send(outbound(f"http://127.0.0.1:{sock.getsockname()[1]}/x"))
    sock.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)
        writer.close()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    for handler, error in ((silent, httpx.ReadTimeout), (hang_up, httpx.RemoteProtocolError)):
        async with serving(handler) as url, client() as lean:
            with pytest.raises(error):
                await lean.send(outbound(url + "/x", timeout=0.3))
            assert lean._count == 0  # the failed connection gave its slot back


async def test_a_request_is_never_sent_twice() -> None:
    """The server answers the first request, then closes the kept-alive connection on reading the
    second: the second fails (the server may have acted on it), it is not sent again."""
    seen: list[bytes] = []

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        seen.append(head)
        writer.write(ok(b"{}"))
        await writer.drain()
        head, _ = await read_request(reader)
        seen.append(head)
        writer.close()

    async with serving(once) as url, client() as lean:
        assert (await lean.send(outbound(url + "/first"))).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match="closed the connection"):
            await lean.send(outbound(url + "/second", method="POST", content=b"{}"))
        await asyncio.sleep(0.05)
    assert len(seen) == 2


async def test_an_idle_connection_the_server_closed_or_too_old_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connections = 0

    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(ok(b"{}"))  # says keep-alive (HTTP/1.1), then closes anyway
        await writer.drain()
        writer.close()

    async with serving(one_answer) as url, client() as lean:
        for _ in range(2):
            assert (await lean.send(outbound(url + "/x"))).status_code == 200
            await asyncio.sleep(0.05)  # the close reaches the client
    assert connections == 2

    monkeypatch.setattr(jubao.http1, "KEEPALIVE_SECONDS", 0.0)  # every idle one is too old
    async with recording(ok(b"{}")) as (url, recorder), client() as lean:
        for _ in range(2):
            assert (await lean.send(outbound(url + "/x"))).status_code == 200
    assert recorder.connections == 2


async def test_connections_are_bounded_and_waiting_for_one_has_a_deadline() -> None:
    open_now = most = 0
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await read_request(reader)
                await release.wait()
                writer.write(ok(b"{}"))
                await writer.drain()
        open_now -= 1
        writer.close()

    async with serving(slow) as url, client(connections=2) as lean:
        requests = [asyncio.create_task(lean.send(outbound(url + "/x"))) for _ in range(5)]
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.ConnectTimeout):
            await lean.send(outbound(url + "/x", timeout=0.2))
        release.set()
        answers = await asyncio.gather(*requests)
    assert [answer.status_code for answer in answers] == [200] * 5
    assert most == 2


# ---- TLS and proxies ----------------------------------------------------------------------------


async def test_tls_is_verified_for_the_host_name(tmp_path: Path) -> None:
    async with tls_merchant("localhost", tmp_path) as server:
        url = f"https://localhost:{server.port}/v3/x"
        async with client(ssl_context=server.trusting) as lean:
            for _ in range(2):
                assert (await lean.send(outbound(url))).content == b"success"
        async with client() as untrusting:  # certifi's bundle does not know this certificate
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await untrusting.send(outbound(url))
    assert server.server_names[0] == "localhost"
    assert len(server.heads) == 2  # one connection, reused; nothing sent over the unverified one


class Proxy:
    """An HTTP proxy: ``CONNECT`` tunnels to loopback ports (or refuses with ``refuse``), and a
    request in absolute form is answered by the proxy itself. Keeps each head it reads."""

    def __init__(self, refuse: bytes | None = None) -> None:
        self.heads: list[bytes] = []
        self.refuse = refuse

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        if not head.startswith(b"CONNECT "):
            await reader.readexactly(_length(head))
            writer.write(ok(b'{"via":"proxy"}'))
            await writer.drain()
            writer.close()
            return
        if self.refuse is not None:
            writer.write(self.refuse)
            writer.close()
            return
        port = int(head.split(b" ")[1].rsplit(b":", 1)[1])
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


@contextlib.asynccontextmanager
async def proxy_at(proxy: Proxy) -> AsyncIterator[int]:
    sock = listening_socket()
    server = await asyncio.start_server(proxy.handle, sock=sock)
    try:
        yield sock.getsockname()[1]
    finally:
        server.close()


async def test_https_goes_through_a_connect_tunnel_with_the_proxys_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Proxy()
    async with tls_merchant("localhost", tmp_path) as server, proxy_at(proxy) as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://jubao:s3cret@127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with client(ssl_context=server.trusting) as lean:
            answer = await lean.send(outbound(f"https://localhost:{server.port}/v3/x"))
    assert answer.content == b"success"
    connect = proxy.heads[0].split(b"\r\n")
    assert connect[0] == f"CONNECT localhost:{server.port} HTTP/1.1".encode()
    assert b"Proxy-Authorization: Basic anViYW86czNjcmV0" in connect  # base64("jubao:s3cret")
    assert server.server_names == ["localhost"]  # TLS to the origin, through the tunnel
    assert server.heads[0].startswith(b"GET /v3/x HTTP/1.1\r\n")


async def test_http_goes_to_the_proxy_in_absolute_form_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = Proxy()
    async with proxy_at(proxy) as port, recording(ok(b"{}")) as (url, recorder):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("NO_PROXY", "localhost")
        monkeypatch.delenv("no_proxy", raising=False)
        async with client() as lean:
            proxied = await lean.send(outbound(url + "/v3/x?a=1"))
            direct = url.replace("127.0.0.1", "localhost")
            assert (await lean.send(outbound(direct + "/v3/y"))).content == b"{}"
    assert proxied.content == b'{"via":"proxy"}'
    assert proxy.heads[0].startswith(f"GET {url}/v3/x?a=1 HTTP/1.1\r\n".encode())
    assert recorder.heads[0].startswith(b"GET /v3/y HTTP/1.1\r\n")


async def test_a_refused_tunnel_is_a_proxy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Proxy(refuse=b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    async with proxy_at(proxy) as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with client() as lean:
            with pytest.raises(httpx.ProxyError, match="403"):
                await lean.send(outbound("https://api.mch.weixin.qq.com/v3/x"))
            assert lean._count == 0


async def test_a_full_pool_gives_an_idle_connection_slot_to_another_origin() -> None:
    async with (
        recording(ok(b"a")) as (first, _),
        recording(ok(b"b")) as (second, _),
        client(connections=1) as lean,
    ):
        assert (await lean.send(outbound(first + "/x"))).content == b"a"
        assert (await lean.send(outbound(second + "/x"))).content == b"b"  # A's idle closed
        assert lean._count == 1
