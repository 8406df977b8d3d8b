"""The WeChat channel's outbound client (``jubao.httppool.AiohttpClient``) puts the same request
on the wire as ``httpx.AsyncClient`` did, answers with httpx responses (decoded as httpx decodes)
and fails with httpx's exceptions, which the channel turns into its errors."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jubao.httppool import AiohttpClient, PinnedAiohttpClient
from tests.notify.tls import tls_merchant
from tests.support.rawhttp import read_request
from tests.support.servers import listening_socket


class Recorder:
    """A bare HTTP/1.1 server that keeps each raw request head and answers ``answer``."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head, body = await read_request(reader)
                self.heads.append(head)
                self.bodies.append(body)
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


# ---- PinnedAiohttpClient: the notification dispatcher's client ------------------------------

FORM = [("Host", "merchant.example:8443"), ("Content-Type", "application/x-www-form-urlencoded")]


async def post(client: PinnedAiohttpClient, url: str, **options: object) -> tuple[int, bytes]:
    settings: dict[str, object] = {"server_hostname": None, "seconds": 5.0, "max_bytes": 4096}
    settings.update(options)
    return await client.post(httpx.URL(url), b"a=1", FORM, **settings)  # type: ignore[arg-type]


async def test_the_pinned_client_sends_the_host_it_is_given_to_the_address_in_the_url() -> None:
    async with recording(ok(b"success")) as (url, recorder):
        client = PinnedAiohttpClient(connections=4)
        try:
            for _ in range(2):
                assert await post(client, url + "/notify?k=1") == (200, b"success")
        finally:
            await client.aclose()
    assert recorder.connections == 1  # a whole answer read: the connection is kept
    first = recorder.heads[0].split(b"\r\n")
    assert first[0] == b"POST /notify?k=1 HTTP/1.1"
    assert b"Host: merchant.example:8443" in first  # not the address connected to
    assert sum(line.lower().startswith(b"host:") for line in first) == 1
    assert recorder.bodies == [b"a=1", b"a=1"]


async def test_the_pinned_client_resolves_no_name() -> None:
    async with recording(ok(b"success")) as (url, recorder):
        client = PinnedAiohttpClient(connections=4)
        try:
            with pytest.raises(httpx.ConnectError, match="resolves no names"):
                await post(client, url.replace("127.0.0.1", "localhost") + "/notify")
        finally:
            await client.aclose()
    assert recorder.heads == []


async def test_the_pinned_client_reads_at_most_max_bytes_and_drops_that_connection() -> None:
    async with recording(ok(b"x" * 1_000_000)) as (url, recorder):
        client = PinnedAiohttpClient(connections=4)
        try:
            for _ in range(2):
                status, body = await post(client, url + "/n", max_bytes=10)
                assert (status, body) == (200, b"x" * 10)
        finally:
            await client.aclose()
    assert recorder.connections == 2  # an answer not read to its end is never reused


async def test_the_pinned_client_closes_the_connection_when_asked() -> None:
    async with recording(ok(b"success")) as (url, recorder):
        client = PinnedAiohttpClient(connections=4)
        try:
            for _ in range(2):
                assert await post(client, url + "/n", keep_alive=False) == (200, b"success")
        finally:
            await client.aclose()
    assert recorder.connections == 2
    with pytest.raises(RuntimeError, match="closed"):
        await post(client, url + "/n")


async def test_the_pinned_client_decodes_and_fails_as_httpx_did() -> None:
    packed = ok(gzip.compress(b"success"), b"Content-Encoding: gzip")
    async with recording(packed) as (url, _):
        client = PinnedAiohttpClient(connections=4)
        try:
            assert await post(client, url + "/n") == (200, b"success")
        finally:
            await client.aclose()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = PinnedAiohttpClient(connections=4)
    try:
        with pytest.raises(httpx.TimeoutException):
            await post(client, f"http://127.0.0.1:{port}/n", seconds=0.3)
        sock = listening_socket()  # bound, never listening: the connection is refused
        with pytest.raises(httpx.ConnectError):
            await post(client, f"http://127.0.0.1:{sock.getsockname()[1]}/n")
        sock.close()
    finally:
        server.close()
        await client.aclose()


async def test_the_pinned_client_verifies_the_certificate_for_the_server_hostname(
    tmp_path: Path,
) -> None:
    async with tls_merchant("merchant.example", tmp_path) as merchant:
        client = PinnedAiohttpClient(connections=4, ssl_context=merchant.trusting)
        url = f"https://127.0.0.1:{merchant.port}/notify"
        try:
            answer = await post(client, url, server_hostname="merchant.example")
            assert answer == (200, b"success")
            for wrong in ("other.example", None):  # None: verified against 127.0.0.1
                with pytest.raises(httpx.ConnectError, match="certificate"):
                    await post(client, url, server_hostname=wrong)
        finally:
            await client.aclose()
    assert merchant.server_names[0] == "merchant.example"
    assert len(merchant.heads) == 1  # nothing was sent over the unverified connections
