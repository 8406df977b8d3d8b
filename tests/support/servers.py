"""Serve an ASGI app with real uvicorn on a loopback port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp

from jubao.web.corking import PROTOCOL


def free_port() -> int:
    """A port free now; for a server in another process, which must bind it itself. Another
    process (a parallel test worker) may take it in between: prefer ``listening_socket``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listening_socket() -> socket.socket:
    """A loopback socket bound to a free port and kept bound until the server closes it, so no
    parallel test can take the port between choosing it and serving on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    port: int | None = None,
    *,
    lifespan: Literal["on", "off"] = "on",
    sock: socket.socket | None = None,
    **uvicorn_options: Any,
) -> AsyncIterator[str]:
    """Yields the base URL (``http://127.0.0.1:PORT``) while the app serves. Without ``port``
    it serves on ``sock`` (or a fresh ``listening_socket``), which it then owns and closes.
    ``uvicorn_options``: more ``uvicorn.Config`` options (``timeout_keep_alive``, ...)."""
    async with serve_uvicorn(app, port, lifespan=lifespan, sock=sock, **uvicorn_options) as (
        url,
        _server,
    ):
        yield url


@contextlib.asynccontextmanager
async def serve_uvicorn(
    app: ASGIApp,
    port: int | None = None,
    *,
    lifespan: Literal["on", "off"] = "on",
    sock: socket.socket | None = None,
    **uvicorn_options: Any,
) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """``serve_asgi``, also yielding the ``uvicorn.Server`` (a test may start its shutdown by
    setting ``should_exit``)."""
    if port is None and sock is None:
        sock = listening_socket()
    sockets = None if sock is None else [sock]
    port = port if sock is None else sock.getsockname()[1]
    assert port is not None
    options: dict[str, Any] = {"log_level": "warning", "http": PROTOCOL, **uvicorn_options}
    # served as jubao serves (jubao.web.corking) unless the caller says otherwise
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, **options)
    server = uvicorn.Server(config)
    try:
        task = asyncio.create_task(server.serve(sockets))
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}", server
        finally:
            server.should_exit = True
            await task
    finally:
        if sock is not None:
            sock.close()
