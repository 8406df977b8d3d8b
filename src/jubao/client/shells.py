"""The HTTP half every client shares: one httpx client, the retry loop that drives an
``Exchange`` (``core.py``, sans-IO), and closing. The 1.0 and 2.0 clients differ only in their
core (who signs, which path) and in their methods."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Protocol, Self, TypeVar

import httpx

from jubao.client.core import Done, Exchange, Retry
from jubao.client.operations import Operation

__all__ = ["AsyncShell", "Starter", "SyncShell"]

T = TypeVar("T")


class Starter(Protocol):
    """What makes one call's exchange: ``ClientCore`` (1.0) or ``AgentCore`` (2.0)."""

    def start(self, operation: Operation[T]) -> Exchange[T]: ...


class SyncShell:
    def __init__(
        self, starter: Starter, timeout: float, transport: httpx.BaseTransport | None
    ) -> None:
        self._starter = starter
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections (this is not the API's close-order method)."""
        self._http.close()

    def _execute(self, operation: Operation[T]) -> T:
        exchange = self._starter.start(operation)
        request = exchange.request
        while True:
            step: Done[T] | Retry
            try:
                answer = self._http.post(request.url, content=request.body, headers=request.headers)
            except httpx.TransportError as exc:
                step = exchange.failed(exc)
            else:
                step = exchange.received(answer.status_code, answer.content)
            if isinstance(step, Done):
                return step.value
            time.sleep(step.delay)


class AsyncShell:
    def __init__(
        self, starter: Starter, timeout: float, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self._starter = starter
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP connections (this is not the API's close-order method)."""
        await self._http.aclose()

    async def _execute(self, operation: Operation[T]) -> T:
        exchange = self._starter.start(operation)
        request = exchange.request
        while True:
            step: Done[T] | Retry
            try:
                answer = await self._http.post(
                    request.url, content=request.body, headers=request.headers
                )
            except httpx.TransportError as exc:
                step = exchange.failed(exc)
            else:
                step = exchange.received(answer.status_code, answer.content)
            if isinstance(step, Done):
                return step.value
            await asyncio.sleep(step.delay)
