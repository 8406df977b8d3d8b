"""The channel's own client (``jubao.http1``, no client injected): the request on the wire is the
one httpx sends, the answer's bound and a dropped connection are what they mean, and a whole
flow, the bill's download included, works against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from jubao.channels.alipay import AlipayChannel, signing
from jubao.channels.alipay.keys import load_private_key, load_public_key
from jubao.channels.alipay.mapping import CHINA
from jubao.channels.alipay.transport import _MAX_ANSWER_BYTES
from jubao.channels.base import ChannelBinding, ImmediateOutcome, TradeStatus
from jubao.errors import ChannelUnavailable
from jubao.kinds import ChannelName, Scene
from tests.alipay.support import MERCHANT_PID, World, channel_config, payment_code, sandbox_keys
from tests.support.rawhttp import read_request
from tests.support.recording import head_lines, ok, recording
from tests.support.servers import listening_socket

BINDING = ChannelBinding(ChannelName.ALIPAY, MERCHANT_PID, auth_token="token 甲")
OUT_TRADE_NO = "20260101000001"
INNER = (
    b'{"code":"10000","msg":"Success","trade_no":"2026010122001400000000000001",'
    b'"out_trade_no":"20260101000001","trade_status":"TRADE_SUCCESS","total_amount":"12.30",'
    b'"send_pay_date":"2026-01-01 12:00:00","buyer_user_id":"2088102177846880"}'
)


def _signed_query_answer() -> bytes:
    sign = signing.sign(load_private_key(sandbox_keys().alipay_private_key), INNER)
    body = b'{"alipay_trade_query_response":' + INNER + b',"sign":"' + sign.encode() + b'"}'
    return ok(body, b"trace_id: 0b7a1c")


def _channel(url: str, http: httpx.AsyncClient | None = None) -> AlipayChannel:
    # One instant: both clients sign, and so send, the same query.
    instant = datetime(2026, 1, 1, 4, 5, 6, tzinfo=UTC)
    return AlipayChannel(
        channel_config(url + "/gateway.do"), http_client=http, clock=lambda: instant
    )


@contextlib.asynccontextmanager
async def _channels(url: str) -> AsyncIterator[tuple[AlipayChannel, AlipayChannel]]:
    """The lean channel and one over an injected ``httpx.AsyncClient``."""
    async with httpx.AsyncClient() as http:
        lean, injected = _channel(url), _channel(url, http)
        try:
            yield lean, injected
        finally:
            await lean.aclose()
            await injected.aclose()


async def test_the_wire_request_is_the_one_httpx_sends() -> None:
    """Same request line, body and headers but httpx's defaults the lean client leaves out
    (``Accept``, ``User-Agent``, ``Connection``; it names the two encodings it decodes)."""
    async with recording(_signed_query_answer()) as (url, recorder), _channels(url) as pair:
        for channel in pair:
            trade = await channel.query(BINDING, OUT_TRADE_NO)
            assert (trade.status, trade.total_fen) == (TradeStatus.PAID, 1230)
    lean_head, httpx_head = recorder.heads
    ignored = (b"accept:", b"accept-encoding:", b"user-agent:", b"connection:")
    lines = [
        [line for line in head_lines(head) if not line.lower().startswith(ignored)]
        for head in (lean_head, httpx_head)
    ]
    assert lines[0] == lines[1]
    request_line = lean_head.split(b"\r\n", 1)[0]
    assert request_line == httpx_head.split(b"\r\n", 1)[0]
    names = {line.split(b":", 1)[0].lower() for line in lean_head.split(b"\r\n")[1:] if line}
    assert names == {b"host", b"accept-encoding", b"content-type", b"content-length"}
    assert recorder.bodies[0] == recorder.bodies[1]

    # The query is the one ``post(params=...)`` built before, and Alipay can verify its sign.
    target = request_line.split(b" ")[1].decode("ascii")
    query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
    body = dict(parse_qsl(recorder.bodies[0].decode("ascii"), keep_blank_values=True))
    async with httpx.AsyncClient() as reference:
        before = reference.build_request("POST", url + "/gateway.do", params=query)
    assert before.url.raw_path.decode("ascii") == target
    assert body["app_auth_token"] == "token 甲"
    assert query["timestamp"] == "2026-01-01 12:05:06"
    app_key = load_public_key(sandbox_keys().app_public_key)
    sign = query.pop("sign")
    assert signing.verify(app_key, signing.request_content({**query, **body}), sign)


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "injected"])
async def test_an_answer_over_the_bound_is_too_large(lean: bool) -> None:
    answer = ok(b" " * (_MAX_ANSWER_BYTES + 1))
    async with recording(answer) as (url, _), _channels(url) as (lean_channel, injected):
        channel = lean_channel if lean else injected
        with pytest.raises(ChannelUnavailable) as caught:
            await channel.query(BINDING, OUT_TRADE_NO)
    assert caught.value.message == "支付宝：应答过大"


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "injected"])
async def test_a_compressed_answer_over_the_bound_once_decoded_is_too_large(lean: bool) -> None:
    answer = ok(gzip.compress(b" " * (_MAX_ANSWER_BYTES + 1)), b"Content-Encoding: gzip")
    async with recording(answer) as (url, _), _channels(url) as (lean_channel, injected):
        channel = lean_channel if lean else injected
        with pytest.raises(ChannelUnavailable) as caught:
            await channel.query(BINDING, OUT_TRADE_NO)
    assert caught.value.message == "支付宝：应答过大"


async def test_an_answer_at_the_bound_is_read() -> None:
    """The bound is the body's size, not one byte less: a body of exactly the bound is read (and
    refused for what it says, not for its size)."""
    async with recording(ok(b" " * _MAX_ANSWER_BYTES)) as (url, _), _channels(url) as (lean, _):
        with pytest.raises(ChannelUnavailable) as caught:
            await lean.query(BINDING, OUT_TRADE_NO)
    assert caught.value.message == "支付宝：应答格式不正确"


async def test_a_connection_dropped_before_the_answer_is_a_network_error() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    sock = listening_socket()
    server = await asyncio.start_server(drop, sock=sock)
    lean = _channel(f"http://127.0.0.1:{sock.getsockname()[1]}")
    try:
        with pytest.raises(ChannelUnavailable) as caught:
            await lean.query(BINDING, OUT_TRADE_NO)
    finally:
        await lean.aclose()
        server.close()
        await server.wait_closed()
    assert caught.value.message == "支付宝：网络错误（RemoteProtocolError）"


async def test_a_payment_and_its_bill_over_the_lean_client(alipay: World) -> None:
    lean = AlipayChannel(channel_config(alipay.base_url + "/gateway.do"), clock=alipay.clock)
    try:
        request = alipay.payment(Scene.BARCODE, auth_code=payment_code())
        outcome = await lean.create_payment(request)
        assert isinstance(outcome, ImmediateOutcome)
        trade = await lean.query(alipay.binding, request.out_trade_no)
        assert (trade.status, trade.total_fen) == (TradeStatus.PAID, request.total_fen)
        day = alipay.clock().astimezone(CHINA).date()
        alipay.clock.advance(86400)
        lines = await lean.fetch_statement(day, alipay.binding)  # downloaded over plain httpx
        assert [(line.out_trade_no, line.total_fen) for line in lines] == [
            (request.out_trade_no, request.total_fen)
        ]
    finally:
        await lean.aclose()
    downloads = lean._transport._http._downloads
    assert downloads is not None and downloads.is_closed
