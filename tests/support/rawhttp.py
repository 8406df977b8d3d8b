"""HTTP by hand in tests: one request off the stream (for the test servers), and the raw requests
and answers of the tests that talk to jubao's own server byte for byte."""

from __future__ import annotations

import asyncio
import re


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The next request's head (through the blank line) and its ``Content-Length`` body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def post(path: bytes = b"/gateway", body: bytes = b"{}", extra: bytes = b"") -> bytes:
    """A raw HTTP/1.1 POST of a JSON body; ``extra``: more header lines, each ending CRLF."""
    return (
        b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n%s\r\n%s" % (path, len(body), extra, body)
    )


def without_date(raw: bytes) -> bytes:
    """An answer without its ``date`` header, the one part two servers' answers may differ in."""
    return re.sub(rb"date: [^\r]*\r\n", b"", raw)
