"""The gateway's front (``web/fastpath.py``) and the request deadline (``web/gateway.py``),
driven in raw ASGI: what is sent, when, and that timed-out work is left to finish.

- past the deadline while processing: ``TIMEOUT`` is sent at the deadline, the work carries on to
  its end in the request's task and its outcome is not sent;
- past the deadline while the body is read: the read is cancelled, ``TIMEOUT`` (读取请求体超时);
- a cancellation that is not the deadline's is not mistaken for it;
- the answer's headers, the request id, the last-resort envelope."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from jubao.config import Settings
from jubao.errors import InvalidParameter
from jubao.protocol import envelope as env
from jubao.web.answer import Reply
from jubao.web.bodies import BodyIncomplete, BodyTooLarge, receive_bounded
from jubao.web.fastpath import GatewayFront
from jubao.web.gateway import SignedEndpoint, Signer


class Scripted(SignedEndpoint[str, str]):
    """The shared pipeline with its processing replaced: sleeps, then answers or raises."""

    handlers: Mapping[str, Any] = {}

    def __init__(self, timeout: float, delay: float = 0.0, error: Exception | None = None) -> None:
        settings = Settings.from_env(env={}, request_timeout_seconds=timeout)
        super().__init__(None, None, settings, None)  # type: ignore[arg-type]
        self.delay = delay
        self.error = error
        self.finished = False

    async def signer(self, envelope: env.Envelope) -> Signer[str]:
        raise NotImplementedError

    async def caller(self, signer: Signer[str], biz: dict[str, Any]) -> str:
        raise NotImplementedError

    async def _process(self, body: bytes, content_type: str = "") -> env.Data:
        await asyncio.sleep(self.delay)
        self.finished = True
        if self.error is not None:
            raise self.error
        return {"echo": body.decode()}


def scope(path: str = "/gateway", method: str = "POST", **headers: str) -> Scope:
    raw = [(key.replace("_", "-").encode(), value.encode()) for key, value in headers.items()]
    return {"type": "http", "method": method, "path": path, "headers": raw}


def body_once(body: bytes = b"{}") -> Receive:
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # as a server does once the body is read: until disconnect
        raise AssertionError

    return receive


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.sent_at: float | None = None

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self.sent_at = time.perf_counter()

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.messages[0]["headers"])

    @property
    def payload(self) -> dict[str, Any]:
        assert [m["type"] for m in self.messages] == ["http.response.start", "http.response.body"]
        answer: dict[str, Any] = json.loads(self.messages[1]["body"])
        return answer


async def unused(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("only /gateway is served here")


def front(endpoint: SignedEndpoint[Any, Any]) -> GatewayFront:
    return GatewayFront(unused, {"/gateway": endpoint.handle})


async def test_slow_work_is_answered_timeout_at_the_deadline_and_still_finishes() -> None:
    endpoint = Scripted(timeout=0.2, delay=0.6)
    sent = Recorder()
    started = time.perf_counter()
    await front(endpoint)(scope(), body_once(), sent)
    assert sent.sent_at is not None and sent.sent_at - started < 0.45  # not after the work
    assert sent.payload["sub_code"] == "TIMEOUT"
    assert endpoint.finished  # the work ran to its end; its answer was not sent
    assert time.perf_counter() - started >= 0.55  # it waited for the work (0.6 s)


async def test_timed_out_work_that_fails_later_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    endpoint = Scripted(timeout=0.1, delay=0.3, error=RuntimeError("boom"))
    sent = Recorder()
    with caplog.at_level(logging.ERROR, logger="jubao.gateway"):
        await front(endpoint)(scope(), body_once(), sent)
    assert sent.payload["sub_code"] == "TIMEOUT"
    assert "timed-out gateway request failed later" in caplog.text


async def test_an_ordinary_failure_after_the_deadline_is_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = Scripted(timeout=0.1, delay=0.3, error=InvalidParameter("坏了"))
    sent = Recorder()
    with caplog.at_level(logging.ERROR, logger="jubao.gateway"):
        await front(endpoint)(scope(), body_once(), sent)
    assert sent.payload["sub_code"] == "TIMEOUT"
    assert caplog.text == ""


async def test_quick_work_is_answered_once_and_the_timer_is_gone() -> None:
    endpoint = Scripted(timeout=0.1)
    sent = Recorder()
    await front(endpoint)(scope(), body_once(b'{"a":1}'), sent)
    await asyncio.sleep(0.2)  # past the deadline: nothing more is sent
    assert sent.payload == env.success({"echo": '{"a":1}'})


async def test_a_stalled_body_is_cancelled_at_the_deadline() -> None:
    endpoint = Scripted(timeout=0.2)

    async def stalls() -> Message:
        await asyncio.sleep(5)
        raise AssertionError

    sent = Recorder()
    started = time.perf_counter()
    await front(endpoint)(scope(), stalls, sent)
    assert time.perf_counter() - started < 1.0
    assert sent.payload["sub_code"] == "TIMEOUT"
    assert sent.payload["result_message"] == "读取请求体超时"
    assert not endpoint.finished


async def test_another_cancellation_of_the_read_is_not_taken_for_the_deadline() -> None:
    endpoint = Scripted(timeout=5)
    reading = asyncio.Event()

    async def stalls() -> Message:
        reading.set()
        await asyncio.sleep(5)
        raise AssertionError

    sent = Recorder()
    task = asyncio.ensure_future(front(endpoint)(scope(), stalls, sent))
    await reading.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent.messages == []


async def test_without_a_timeout_the_work_is_awaited() -> None:
    endpoint = Scripted(timeout=0, delay=0.2)
    sent = Recorder()
    await front(endpoint)(scope(), body_once(), sent)
    assert sent.payload["result_code"] == 200


async def test_the_answer_carries_the_usual_headers() -> None:
    sent = Recorder()
    await front(Scripted(timeout=1))(scope(x_request_id="abc-1"), body_once(), sent)
    headers = sent.headers
    assert headers[b"content-type"] == b"application/json;charset=UTF-8"
    assert int(headers[b"content-length"]) == len(sent.messages[1]["body"])
    assert headers[b"x-request-id"] == b"abc-1"
    assert headers[b"x-gateway-time"].endswith(b"ms")
    assert headers[b"x-upstream-time"] == b"0.00ms"
    assert sent.messages[0]["status"] == 200


async def test_an_exception_escaping_an_endpoint_is_an_envelope_not_a_500() -> None:
    async def broken(scope: Scope, receive: Receive, reply: Reply) -> None:
        raise RuntimeError("boom")

    sent = Recorder()
    await GatewayFront(unused, {"/gateway": broken})(scope(), body_once(), sent)
    assert sent.messages[0]["status"] == 200
    assert sent.payload["sub_code"] == "SYSTEM_ERROR"
    assert b"x-request-id" in sent.headers


async def test_other_paths_go_to_the_app_behind() -> None:
    seen: list[str] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope.get("path", scope["type"]))

    await GatewayFront(behind, {})(scope("/gatewayx"), body_once(), Recorder())
    await GatewayFront(behind, {})({"type": "lifespan"}, body_once(), Recorder())
    assert seen == ["/gatewayx", "lifespan"]


def messages(*items: Message) -> tuple[Receive, list[Message]]:
    pending = list(items)

    async def receive() -> Message:
        return pending.pop(0)

    return receive, pending


async def test_the_body_is_read_bounded_from_receive() -> None:
    parts = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]
    receive, _ = messages(*parts)
    assert await receive_bounded(receive, None, 4) == b"abcd"
    receive, pending = messages(*parts)
    with pytest.raises(BodyTooLarge, match="1 字节"):
        await receive_bounded(receive, None, 1)  # counted while it streams
    assert pending == parts[1:]  # refused at the first chunk over the limit
    receive, pending = messages(*parts)
    with pytest.raises(BodyTooLarge, match="1 KiB"):
        await receive_bounded(receive, b" 2048 ", 1024)  # declared: refused before a byte
    assert len(pending) == 3
    receive, _ = messages(parts[0], {"type": "http.disconnect"})
    with pytest.raises(BodyIncomplete):
        await receive_bounded(receive, None, 1024)
