"""A merchant's notification endpoint for the benchmark: answers every POST with ``success``.

A raw ASGI callable under uvicorn (uvloop, httptools), so it costs as little as possible.
Run: ``python -m bench.receiver PORT``.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"7")]


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the form
        message = await receive()
        more = bool(message.get("more_body"))
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"success"})


def main() -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
