"""Sandbox only: a simulator app answering a request once more after learning merchants from
jubao's database. Merchants are often created or bound by another process (``jubao merchant
create``/``bind-alipay`` against the same data dir), so a simulator that refuses a merchant it
does not know yet first reads the database again; no restart, no polling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["answer_again_after_learning"]


def answer_again_after_learning(
    app: ASGIApp,
    refuses_unknown_merchant: Callable[[int, bytes], bool],
    learn: Callable[[], Awaitable[bool]],
) -> ASGIApp:
    """``app``, answering a request it refused for an unknown merchant once more if ``learn``
    (which says whether it learned anything new) did. Requests are small, so each is buffered;
    answering twice is safe, as the refusal happens before any state changes."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = await _read_body(receive)
        answer = await _answer(app, scope, body)
        if refuses_unknown_merchant(*_status_and_body(answer)) and await learn():
            answer = await _answer(app, scope, body)
        for message in answer:
            await send(message)

    return asgi


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(app: ASGIApp, scope: Scope, body: bytes) -> list[Message]:
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _status_and_body(answer: list[Message]) -> tuple[int, bytes]:
    status = next((m["status"] for m in answer if m["type"] == "http.response.start"), 200)
    body = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
    return status, body
