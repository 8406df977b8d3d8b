"""A channel's outbound HTTP: API calls over the lean client, bills over plain httpx.

Calls are on every order's path and go over an owned ``jubao.http1.Http1Client``; tests inject an
``httpx.AsyncClient`` instead, which is sent the same request (``httpx_request``) and answers
through the same ``AnswerLike``. Bills are streamed under a size bound, which the lean client
does not do: they go over a plain httpx client made on the first download (a day's bill is one
request, not the hot path), or over the injected one.

The time a call spends in ``send`` (on the wire and waiting for the channel) is what a gateway
request reports as upstream time (``upstream_seconds``): measured here rather than around a whole
channel operation, so the channel's own work (signing a request, verifying an answer: two RSA
signatures per mina order) counts as the gateway's time, not as the channel's latency.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

import httpx

from jubao.http1 import AnswerLike, Http1Client, Outbound
from jubao.httppool import shared_ssl_context

__all__ = ["ChannelHttp", "httpx_request", "upstream_seconds"]

# A list so that tasks sharing the request's context add to one total.
_upstream: ContextVar[list[float] | None] = ContextVar("jubao_upstream", default=None)


class upstream_seconds:
    """``with upstream_seconds() as spent: ...; spent[0]`` is the time channel calls made inside
    spent in ``ChannelHttp.send``."""

    def __enter__(self) -> list[float]:
        self._total = [0.0]
        self._token = _upstream.set(self._total)
        return self._total

    def __exit__(self, *exc: object) -> None:
        _upstream.reset(self._token)


class ChannelHttp:
    def __init__(
        self,
        injected: httpx.AsyncClient | None,
        *,
        connections: int,
        max_answer_bytes: int,
        timeout: float,
    ) -> None:
        self._injected = injected
        self.lean = (
            Http1Client(connections=connections, max_answer_bytes=max_answer_bytes)
            if injected is None
            else None
        )
        self._timeout = timeout
        self._downloads: httpx.AsyncClient | None = None

    async def send(self, request: Outbound) -> AnswerLike:
        started = time.perf_counter()
        try:
            if self.lean is not None:
                return await self.lean.send(request)
            assert self._injected is not None  # one of the two is always set
            return await self._injected.send(httpx_request(self._injected, request))
        finally:
            total = _upstream.get()
            if total is not None:
                total[0] += time.perf_counter() - started

    def downloads(self) -> httpx.AsyncClient:
        """The client bills are streamed over."""
        if self._injected is not None:
            return self._injected
        if self._downloads is None:
            self._downloads = httpx.AsyncClient(timeout=self._timeout, verify=shared_ssl_context())
        return self._downloads

    async def aclose(self) -> None:
        """Close the clients this made (an injected one is its owner's to close)."""
        if self.lean is not None:
            await self.lean.aclose()
        if self._downloads is not None:
            await self._downloads.aclose()


def httpx_request(client: httpx.AsyncClient, request: Outbound) -> httpx.Request:
    """``request`` for an ``httpx.AsyncClient``: the same target (an absolute ``httpx.URL`` is
    sent as it is), headers and body."""
    return client.build_request(
        request.method,
        request.url,
        content=request.content or None,
        headers=list(request.headers),
        timeout=request.timeout,
    )
