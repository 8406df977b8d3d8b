"""A request's upstream time is the time its channel calls spend on the wire
(``ChannelHttp.send``), not the channel's own work around them (signing, verifying)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from jubao.channels.outbound import ChannelHttp, upstream_seconds
from jubao.http1 import Outbound


async def _slow_answer(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(0.05)
    return httpx.Response(200, content=b"{}")


def _outbound() -> Outbound:
    return Outbound("GET", httpx.URL("http://channel.test/v3/x"), [], b"", 5.0)


async def test_only_the_exchange_counts() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(_slow_answer))
    http = ChannelHttp(client, connections=1, max_answer_bytes=1024, timeout=5.0)
    with upstream_seconds() as spent:
        time.sleep(0.05)  # noqa: ASYNC251  the channel's own work (an RSA signature, say)
        answer = await http.send(_outbound())
        time.sleep(0.05)  # noqa: ASYNC251  and after it (the answer's verification)
        await http.send(_outbound())
    assert answer.status_code == 200
    assert 0.1 <= spent[0] < 0.15  # the two exchanges, not the 0.1 s of work around them
    await client.aclose()


async def test_a_failed_exchange_counts_too_and_outside_a_request_nothing_is_kept() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.03)
        raise httpx.ConnectError("refused")

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    http = ChannelHttp(client, connections=1, max_answer_bytes=1024, timeout=5.0)
    with upstream_seconds() as spent, contextlib.suppress(httpx.ConnectError):
        await http.send(_outbound())
    assert spent[0] >= 0.03
    with contextlib.suppress(httpx.ConnectError):  # no request around it: nothing is kept
        await http.send(_outbound())
    await client.aclose()
