"""A channel's outbound HTTP: API calls over the lean client, bills over plain httpx.

Calls are on every order's path and go over an owned ``jubao.http1.Http1Client``; tests inject an
``httpx.AsyncClient`` instead, which is sent the same request (``httpx_request``) and answers
through the same ``AnswerLike``. Bills are streamed under a size bound, which the lean client
does not do: they go over a plain httpx client made on the first download (a day's bill is one
request, not the hot path), or over the injected one.
"""

from __future__ import annotations

import httpx

from jubao.http1 import AnswerLike, Http1Client, Outbound
from jubao.httppool import shared_ssl_context

__all__ = ["ChannelHttp", "httpx_request"]


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
        if self.lean is not None:
            return await self.lean.send(request)
        assert self._injected is not None  # one of the two is always set
        return await self._injected.send(httpx_request(self._injected, request))

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
