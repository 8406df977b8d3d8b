"""A bare HTTP/1.1 server on loopback that records each raw request and answers one fixed
answer: what the outbound clients' tests compare the wire with."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from tests.support.rawhttp import read_request
from tests.support.servers import listening_socket

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


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
async def serving(handle: Handler) -> AsyncIterator[str]:
    """A loopback server calling ``handle`` for each connection; yields its base URL."""
    sock = listening_socket()
    server = await asyncio.start_server(handle, sock=sock)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def recording(answer: bytes) -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder(answer)
    async with serving(recorder.handle) as base:
        yield base, recorder


def ok(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: application/json", *extra]
    head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def head_lines(head: bytes) -> list[bytes]:
    return sorted(line for line in head.split(b"\r\n") if line)
