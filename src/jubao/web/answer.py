"""JSON answers. The gateway's front (``web/fastpath.py``) answers straight to ASGI ``send``,
without Starlette's ``Response``, in two ``send`` calls (start, body): ``Reply``. The other JSON
routes (admin, health) answer with ``json_response``.

An exchange is answered once: the first ``json`` call sends, later ones (the work of a request
whose deadline already answered ``TIMEOUT``) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response
from starlette.types import Send

from jubao.protocol import jsonwire

__all__ = ["Header", "Reply", "json_response"]

Header = tuple[bytes, bytes]

_CONTENT_TYPE: Header = (b"content-type", b"application/json;charset=UTF-8")
_REQUEST_ID = b"x-request-id"


class Reply:
    __slots__ = ("_request_id", "_send", "sent")

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._request_id = request_id.encode("ascii")
        self.sent = False

    async def json(self, payload: dict[str, Any], headers: Sequence[Header] = ()) -> None:
        """HTTP 200 with ``payload``; ``headers``: lower-case names, before the usual ones."""
        if self.sent:
            return
        body = jsonwire.dumpb(payload)  # may raise: nothing is sent yet
        self.sent = True
        await self._send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    *headers,
                    (b"content-length", b"%d" % len(body)),
                    _CONTENT_TYPE,
                    (_REQUEST_ID, self._request_id),
                ],
            }
        )
        await self._send({"type": "http.response.body", "body": body})


def json_response(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        jsonwire.dumpb(payload),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )
