"""``POST /channel/<name>/notify``: each channel's payment and refund notifications.

Each channel answers in its own convention (``Channel.notification_answer``): WeChat takes 204
when handled (duplicates too) and a 4xx ``{"code":"FAIL"}`` otherwise; it then retries on its
schedule. The answer "handled" is given only after the state change is committed.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.base import Channel
from jubao.errors import ChannelNotificationRejected, JubaoError
from jubao.payments.service import PaymentService

__all__ = ["ChannelCallback"]

log = logging.getLogger("jubao.channel.callback")
_MAX_BODY = 64 * 1024


class ChannelCallback:
    def __init__(self, channel: Channel, service: PaymentService) -> None:
        self._channel = channel
        self._service = service

    def _answer(self, accepted: bool, reason: str = "") -> Response:
        answer = self._channel.notification_answer(accepted, reason)
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return self._answer(False, "body too large")
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
