"""The notification dispatcher's client (``jubao.httppool.PinnedAiohttpClient``): to a vetted
address only, the caller's Host and SNI kept, answers bounded, httpx's exceptions."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import httpx
import pytest

from jubao.httppool import PinnedAiohttpClient
from tests.notify.tls import tls_merchant
from tests.support.recording import ok, recording
from tests.support.servers import listening_socket

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
