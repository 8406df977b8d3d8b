"""``POST /channel/<name>/notify``: each channel's payment and refund notifications.

Each channel answers in its own convention (``Channel.notification_answer``): WeChat takes 204
when handled (duplicates too) and a 4xx ``{"code":"FAIL"}`` otherwise; it then retries on its
schedule. The answer "handled" is given only after the state change is committed.
The route is unauthenticated until the signature is checked, so the body is bounded while it is
read (``JUBAO_CALLBACK_MAX_BODY_BYTES``), never buffered whole first.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.base import Channel
from jubao.errors import ChannelNotificationRejected, JubaoError
from jubao.payments.service import PaymentService
from jubao.web.bodies import BodyIncomplete, BodyTooLarge, read_bounded

__all__ = ["ChannelCallback"]

log = logging.getLogger("jubao.channel.callback")


class ChannelCallback:
    def __init__(self, channel: Channel, service: PaymentService, max_body: int) -> None:
        self._channel = channel
        self._service = service
        self._max_body = max_body

    def _answer(self, accepted: bool, reason: str = "", status: int | None = None) -> Response:
        answer = self._channel.notification_answer(accepted, reason)
        return Response(
            answer.body, status_code=status or answer.status, media_type=answer.media_type
        )

    async def handle(self, request: Request) -> Response:
        try:
            body = await read_bounded(request, self._max_body)
        except BodyTooLarge:
            log.warning("%s notification refused: body over %d bytes", self._channel.name,
                        self._max_body)  # fmt: skip
            return self._answer(False, "body too large", status=413)
        except BodyIncomplete:
            log.info("%s notification abandoned by the client mid-body", self._channel.name)
            return self._answer(False, "incomplete body")
        try:
            event = self._channel.parse_notification(request.headers, body)
            await self._service.handle_channel_event(self._channel.name, event)
        except ChannelNotificationRejected as exc:
            log.warning("%s notification refused: %s", self._channel.name, exc.message)
            return self._answer(False, exc.message)
        except JubaoError as exc:
            log.warning("%s notification not processed: %s", self._channel.name, exc)
            return self._answer(False, exc.sub_code)
        return self._answer(True)
