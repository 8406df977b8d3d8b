"""``POST /channel/wechatpay/notify``: WeChat's payment and refund notifications.

Answers as v3 expects: 204 when handled (duplicates too), 4xx ``{"code":"FAIL"}`` when the
notification cannot be trusted or refers to nothing we know (WeChat then retries on its schedule).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.base import Channel
from jubao.errors import ChannelNotificationRejected, JubaoError
from jubao.payments.service import PaymentService
from jubao.web.gateway import json_response

__all__ = ["ChannelCallback"]

log = logging.getLogger("jubao.channel.callback")
_MAX_BODY = 64 * 1024


class ChannelCallback:
    def __init__(self, channel: Channel, service: PaymentService) -> None:
        self._channel = channel
        self._service = service

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return json_response({"code": "FAIL", "message": "body too large"}, 413)
        try:
            event = self._channel.parse_notification(request.headers, body)
            await self._service.handle_channel_event(event)
        except ChannelNotificationRejected as exc:
            log.warning("channel notification refused: %s", exc.message)
            return json_response({"code": "FAIL", "message": exc.message}, 400)
        except JubaoError as exc:
            log.warning("channel notification not processed: %s", exc)
            return json_response({"code": "FAIL", "message": exc.sub_code}, 500)
        return Response(status_code=204)
