"""Which key verifies WeChat: ``PlatformKeys`` holds the "WeChat Pay public key" and, in
platform-certificate mode, the downloaded certificates (``certificates.py``), and keeps them
fresh. The HTTP call that fetches ``/v3/certificates`` is the client's, passed in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.wechatpay import signing
from jubao.channels.wechatpay.certificates import CertificateStore, parse_certificates
from jubao.channels.wechatpay.config import WechatPayConfig
from jubao.channels.wechatpay.keys import load_public_key
from jubao.errors import ChannelError, ChannelUnavailable
from jubao.http1 import AnswerLike

__all__ = ["PlatformKeys"]

log = logging.getLogger("jubao.channels.wechatpay")

Fetch = Callable[[], Awaitable[AnswerLike]]


class PlatformKeys:
    def __init__(
        self, config: WechatPayConfig, clock: Callable[[], datetime], fetch: Fetch
    ) -> None:
        self._config = config
        self._clock = clock
        self._fetch = fetch
        self._apiv3_key = config.apiv3_key.encode("ascii")
        pem = config.platform_public_key_pem
        self._public_key = load_public_key(pem) if pem is not None else None
        self._store = (
            CertificateStore(
                refresh_seconds=config.certificate_refresh_seconds,
                renew_before_seconds=config.certificate_renew_before_seconds,
                retry_gap_seconds=config.certificate_retry_gap_seconds,
            )
            if config.platform_mode == "certificate"
            else None
        )
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    # ---- verification ---------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise ``signing.VerificationFailed`` (``UnknownSerial`` for a serial we hold no key
        for) unless ``body`` is signed by WeChat."""
        signing.verify_signed_headers_by(
            headers,
            body,
            key_for=self._key_for,
            now=int(self._clock().timestamp()),
            window_seconds=self._config.notify_window_seconds,
        )

    async def verify_answer(self, response: AnswerLike) -> None:
        """``verify`` for an answer: an unknown serial means WeChat rotated its certificate, so
        the certificates are downloaded once and the answer verified again."""
        try:
            self.verify(response.headers, response.content)
        except signing.UnknownSerial:
            if self._store is None or not self._store.may_retry(self._clock()):
                raise
            await self.refresh(forced=True)
            self.verify(response.headers, response.content)

    def unknown_serial_seen(self) -> None:
        """A notification named a serial we hold no key for. Notifications are parsed
        synchronously, so the download runs in the background (once, then the retry gap);
        WeChat's retry of the notification finds it done."""
        if self._store is None or not self._store.may_retry(self._clock()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): the next API call refreshes
        task = loop.create_task(self._refresh_quietly())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def request_serial(self) -> str | None:
        """``Wechatpay-Serial`` on requests: the key we verify answers with."""
        if self._store is not None:
            newest = self._store.newest_serial(self._clock())
            if newest is not None:
                return newest
        return self._config.public_key_id or None

    def _key_for(self, serial: str) -> rsa.RSAPublicKey | None:
        if self._public_key is not None and serial == self._config.public_key_id:
            return self._public_key
        if self._store is not None:
            return self._store.key_for(serial, self._clock())
        return None

    # ---- certificates ---------------------------------------------------------------------------

    async def refresh_if_due(self) -> None:
        """Before a call: download the certificates when due. A failure with valid certificates
        held is logged and they keep serving; without any it is ``ChannelUnavailable``."""
        if self._store is None or not self._store.due(self._clock()):
            return
        try:
            await self.refresh(forced=False)
        except ChannelUnavailable:
            if not self._store.loaded:
                raise
            log.warning("wechatpay certificates not refreshed; using those held")

    async def refresh(self, *, forced: bool) -> None:
        """Download the platform certificates (single-flight). ``forced``: an unknown serial
        asked for it, else only when due; either way at most once per retry gap."""
        store = self._store
        assert store is not None
        async with self._lock:
            now = self._clock()
            if not (store.may_retry(now) if forced else store.due(now)):
                return  # another caller just did it, or it is not time yet
            store.attempt(now)
            try:
                response = await self._fetch()
            except ChannelError as exc:
                # Never a business refusal of the operation that needed the certificates (a
                # refund would fail for good): WeChat refusing them is "cannot verify".
                log.warning("wechatpay refused /v3/certificates: %s (%s)", exc.sub_code, exc)
                raise ChannelUnavailable("微信支付：平台证书下载被拒绝") from None
            try:
                found = parse_certificates(response.content, self._apiv3_key)
            except (ValueError, RecursionError) as exc:
                log.warning("wechatpay certificates unusable: %s", exc)
                raise ChannelUnavailable("微信支付：平台证书无法解密或解析") from None
            # The answer is signed by one of the certificates it carries: check that before
            # trusting any of them.
            by_serial = {item.serial_no: item.public_key for item in found}
            try:
                signing.verify_signed_headers_by(
                    response.headers,
                    response.content,
                    key_for=lambda serial: by_serial.get(serial.upper()),
                    now=int(now.timestamp()),
                    window_seconds=self._config.notify_window_seconds,
                )
            except signing.VerificationFailed as exc:
                log.warning("wechatpay certificates answer rejected: %s", exc)
                raise ChannelUnavailable("微信支付：平台证书应答签名验证失败") from None
            store.replace(found, now)
            log.info("wechatpay platform certificates: %s", ", ".join(sorted(by_serial)))

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh(forced=True)
        except ChannelUnavailable as exc:
            log.warning("wechatpay certificates not refreshed: %s", exc)

    def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
