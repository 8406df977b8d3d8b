"""The notifications WeChat owes merchants: each is built once (encrypted resource in a signed
envelope), recorded, and handed to the sender (``notifier.py``) as background work. Also the
delivery log, resends and the ``SIGNTEST`` probe."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator import ids
from jubao.channels.simulator.background import Background
from jubao.channels.simulator.config import SimulatorConfig, SpMerchant
from jubao.channels.simulator.models import Notification
from jubao.channels.simulator.notifier import Notifier
from jubao.channels.simulator.signing import encrypt_resource
from jubao.channels.simulator.state import State

__all__ = ["Outbox"]


class Outbox:
    def __init__(
        self,
        *,
        config: SimulatorConfig,
        signer: Callable[[], tuple[rsa.RSAPrivateKey, str]],
        state: State,
        background: Background,
        now: Callable[[], float],
        mode_for: Callable[[str], str],
        http_client: httpx.AsyncClient | None,
    ) -> None:
        self._config = config
        self._state = state
        self._background = background
        self._now = now
        self._mode_for = mode_for
        self._client = http_client
        self._owns_client = False
        self._sender = Notifier(
            signer=signer,
            schedule=config.notify_schedule,
            time_scale=config.time_scale,
            timeout=config.notify_timeout,
            now=now,
            persist=state.save_notification,
            client=self._http,
        )

    def send(
        self,
        *,
        sp_mchid: str,
        out_trade_no: str,
        event_type: str,
        summary: str,
        original_type: str,
        plaintext: dict[str, Any],
        url: str,
    ) -> None:
        """Records a notification and starts delivering it, with the order's notification mode."""
        sp = self._merchant(sp_mchid)
        body = self._envelope(sp, event_type, summary, original_type, plaintext)
        notification = Notification(
            id=json.loads(body)["id"],
            sp_mchid=sp_mchid,
            out_trade_no=out_trade_no,
            event_type=event_type,
            url=url,
            body=body,
            plaintext=plaintext,
            created_at=self._now(),
            mode=self._mode_for(out_trade_no),
        )
        self._state.notifications[notification.id] = notification
        self._state.save_notification(notification)
        self._deliver(notification)

    def resume(self) -> None:
        """Restarts the deliveries a stop interrupted."""
        for notification in self._state.notifications.values():
            if notification.state == "pending":
                self._deliver(notification)

    def log(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        """The delivery log, oldest first."""
        selected = [
            item
            for item in self._state.notifications.values()
            if out_trade_no is None or item.out_trade_no == out_trade_no
        ]
        selected.sort(key=lambda item: item.created_at)
        return [_view(item) for item in selected]

    def resend(self, notification_id: str) -> dict[str, Any]:
        """A new delivery round of the same body, with the order's current notification mode."""
        notification = self._state.notifications.get(notification_id)
        if notification is None:
            raise KeyError(f"unknown notification {notification_id}")
        if self._background.running(_task_name(notification)):
            raise ValueError("the notification is being delivered right now")
        notification.mode = self._mode_for(notification.out_trade_no)
        notification.state = "pending"
        notification.next_attempt_at = None
        notification.round_start = len(notification.attempts)
        self._state.save_notification(notification)
        self._deliver(notification)
        return _view(notification)

    async def signtest(self, url: str, sp_mchid: str | None = None) -> dict[str, Any]:
        """Sends one ``WECHATPAY/SIGNTEST/`` probe; a correct receiver answers 4xx/5xx."""
        sp = self._merchant(sp_mchid) if sp_mchid else self._state.first_merchant()
        body = self._envelope(
            sp, "TRANSACTION.SUCCESS", "支付成功", "transaction", {"signtest": True}
        )
        status, error = await self._sender.probe(url, body.encode())
        return {
            "url": url,
            "status_code": status,
            "error": error,
            "rejected": status is None or status >= 400,
        }

    async def close(self) -> None:
        """Closes the HTTP client if it was created here (a given one belongs to the caller)."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
            self._owns_client = False

    def _merchant(self, sp_mchid: str) -> SpMerchant:
        found = self._state.merchant(sp_mchid)
        if found is None:
            raise KeyError(f"unknown sp_mchid {sp_mchid}")
        return found[0]

    def _envelope(
        self,
        sp: SpMerchant,
        event_type: str,
        summary: str,
        original_type: str,
        plaintext: dict[str, Any],
    ) -> str:
        raw = json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        resource = {"original_type": original_type}
        resource.update(encrypt_resource(sp.apiv3_key, raw, original_type))
        envelope = {
            "id": ids.new_event_id(),
            "create_time": ids.rfc3339(self._now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
        }
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))

    def _deliver(self, notification: Notification) -> None:
        self._background.spawn(_task_name(notification), self._sender.deliver(notification))

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._config.notify_timeout)
            self._owns_client = True
        return self._client


def _task_name(notification: Notification) -> str:
    return f"notification:{notification.id}"


def _view(item: Notification) -> dict[str, Any]:
    return {
        "id": item.id,
        "event_type": item.event_type,
        "out_trade_no": item.out_trade_no,
        "sp_mchid": item.sp_mchid,
        "url": item.url,
        "mode": item.mode,
        "state": item.state,
        "created_at": ids.rfc3339(item.created_at),
        "next_attempt_at": (
            ids.rfc3339(item.next_attempt_at) if item.next_attempt_at is not None else None
        ),
        "attempts": [{**attempt, "time": ids.rfc3339(attempt["at"])} for attempt in item.attempts],
        "plaintext": item.plaintext,
    }
