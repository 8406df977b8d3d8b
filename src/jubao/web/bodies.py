"""Bounded request bodies: every inbound route reads its body through ``read_bounded`` (the
gateway's front, which has no ``Request``, through ``receive_bounded``: the same rules).

A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked body is
counted while it streams and refused as soon as it passes the limit, so no route ever buffers more
than its limit (plus one chunk) whatever the client sends. A client that goes away mid-body is an
ordinary, quiet error (``BodyIncomplete``), not a traceback.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from jubao.errors import InvalidParameter

__all__ = ["BodyIncomplete", "BodyTooLarge", "read_bounded", "read_form", "receive_bounded"]

_MAX_FORM_FIELDS = 100


class BodyTooLarge(InvalidParameter):
    sub_code = "BODY_TOO_LARGE"
    default_message = "请求体过大"


class BodyIncomplete(InvalidParameter):
    """The client disconnected before sending the whole body."""

    sub_code = "INVALID_JSON"
    default_message = "请求体不完整"


def _too_large(limit: int) -> BodyTooLarge:
    shown = f"{limit // 1024} KiB" if limit >= 1024 else f"{limit} 字节"
    return BodyTooLarge(f"请求体超过 {shown} 上限")


async def read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise BodyIncomplete() from None
    return b"".join(chunks)


async def receive_bounded(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """``read_bounded`` straight from ASGI ``receive``, without a ``Request`` (the gateway's
    front): the same checks and messages. ``declared``: the raw ``Content-Length``, if sent."""
    if declared is not None:
        text = declared.decode("latin-1").strip()
        if text.isascii() and text.isdigit() and int(text) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif kind == "http.disconnect":
            raise BodyIncomplete()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_form(request: Request, limit: int) -> FormData:
    """An ``application/x-www-form-urlencoded`` body, bounded (what the console's forms post).

    Anything else (multipart included) reads as an empty form: no console form uploads files."""
    body = await read_bounded(request, limit)
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return FormData()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return FormData()
    return FormData([(key, value) for key, value in pairs])
