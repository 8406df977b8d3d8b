"""The WeChat channel's outbound client (``jubao.httppool.AiohttpClient``) puts the same request
on the wire as ``httpx.AsyncClient`` did, answers with httpx responses (decoded as httpx decodes)
and fails with httpx's exceptions, which the channel turns into its errors."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from jubao.httppool import AiohttpClient
from tests.support.servers import listening_socket


class Recorder:
    """A bare HTTP/1.1 server that keeps each raw request head and answers ``answer``."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.heads.append(head)
                self.bodies.append(await reader.readexactly(length))
                writer.write(self.answer)
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def recording(answer: bytes) -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder(answer)
    sock = listening_socket()
    server = await asyncio.start_server(recorder.handle, sock=sock)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", recorder
    finally:
        server.close()
        await server.wait_closed()


def ok(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: application/json", *extra]
    head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def head_lines(head: bytes) -> list[bytes]:
    return sorted(line for line in head.split(b"\r\n") if line)


HEADERS = {"Accept": "application/json", "User-Agent": "jubao/test", "Wechatpay-Serial": "K1"}
PATH = "/v3/pay/partner/transactions/out-trade-no/中文 订单"
PARAMS = {"sp_mchid": "1900000001", "sub_mchid": "1900000101"}


async def test_the_wire_request_is_the_one_httpx_sends() -> None:
    async with recording(ok(b"{}")) as (url, recorder):
        lean = AiohttpClient(timeout=5)
        for client in (httpx.AsyncClient(timeout=5), lean):
            request = client.build_request(
                "POST",
                url + PATH,
                params=PARAMS,
                content=b'{"a":1}',
                headers={**HEADERS, "Content-Type": "application/json"},
                timeout=5,
            )
            # what the channel signs is what is sent
            assert request.url.raw_path.startswith(b"/v3/pay/partner/transactions/out-trade-no/%E4")
            answer = await client.send(request)
            assert answer.status_code == 200
            await client.aclose()
    httpx_head, lean_head = recorder.heads
    assert head_lines(lean_head) == head_lines(httpx_head)
    assert recorder.bodies == [b'{"a":1}', b'{"a":1}']


async def test_a_get_has_no_body_and_the_same_head() -> None:
    async with recording(ok(b"{}")) as (url, recorder):
        for client in (httpx.AsyncClient(timeout=5), AiohttpClient(timeout=5)):
            request = client.build_request(
                "GET", url + "/v3/certificates", params=PARAMS, headers=HEADERS, timeout=5
            )
            assert (await client.send(request)).status_code == 200
            await client.aclose()
    assert head_lines(recorder.heads[1]) == head_lines(recorder.heads[0])
    assert recorder.bodies == [b"", b""]


async def test_answers_are_httpx_responses_decoded_as_httpx_decodes() -> None:
    document = {"prepay_id": "wx201410272009395522657a690389285100"}
    packed = gzip.compress(json.dumps(document).encode())
    answer = ok(packed, b"Content-Encoding: gzip", b"Request-ID: rid-1", b"Set-Cookie: a=b")
    async with recording(answer) as (url, recorder):
        client = AiohttpClient(timeout=5)
        for _ in range(2):  # the second on the kept-alive connection, without the cookie
            response = await client.send(client.build_request("GET", url + "/x", headers=HEADERS))
            assert isinstance(response, httpx.Response)
            assert response.json() == document
            assert response.headers["request-id"] == "rid-1"
        await client.aclose()
    assert b"cookie" not in recorder.heads[1].lower()
    assert client.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.send(client.build_request("GET", url + "/x"))


async def test_failures_are_httpx_exceptions() -> None:
    sock = listening_socket()  # bound, never listening: the connection is refused
    refused = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = AiohttpClient(timeout=5)
    try:
        with pytest.raises(httpx.ConnectError):
            await client.send(client.build_request("GET", refused + "/x"))
    finally:
        sock.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)
        writer.close()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    for handler, error in ((silent, httpx.ReadTimeout), (hang_up, httpx.RemoteProtocolError)):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            request = client.build_request("GET", f"http://127.0.0.1:{port}/x", timeout=0.3)
            with pytest.raises(error):
                await client.send(request)
        finally:
            server.close()
    await client.aclose()


def test_proxies_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,api.internal")
    client = AiohttpClient(timeout=5)
    monkeypatch.setenv("HTTPS_PROXY", "http://changed:1")  # read when the client was made
    to = client._proxy  # the proxy each request is sent through
    assert to(httpx.URL("https://api.mch.weixin.qq.com/v3/x")) == "http://proxy.internal:3128"
    assert to(httpx.URL("https://api.internal/v3/x")) is None
    assert to(httpx.URL("http://127.0.0.1:8610/v3/x")) is None  # no HTTP_PROXY


def test_built_requests_share_no_state() -> None:
    """Parsed addresses are reused; each request still gets its own query and headers, and a
    caller's header replaces httpx's default of that name whatever its case."""
    client = AiohttpClient(timeout=5)
    url = "https://api.mch.weixin.qq.com/v3/pay/partner/transactions/out-trade-no/A1"
    first = client.build_request("GET", url, params={"sub_mchid": "1"}, headers={"accept": "x/y"})
    second = client.build_request("GET", url, params={"sub_mchid": "2"})
    assert first.url.query == b"sub_mchid=1" and second.url.query == b"sub_mchid=2"
    assert first.headers.get_list("Accept") == ["x/y"]
    assert second.headers.get_list("Accept") == ["*/*"]
