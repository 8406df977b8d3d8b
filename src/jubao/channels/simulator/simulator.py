"""The simulator: one simulated WeChat Pay, assembled from its parts, with its lifecycle and the
Python surface the sandbox and tests drive (``docs/simulator.md``, "Python surface").

Where things live: ``state.py`` (the books and their persistence), ``v3/`` (WeChat's API, one
module per family of operations, ``v3/routes.py`` the route table), ``payer.py`` (the payer's
``wx.requestPayment``), ``controls.py`` (behaviour, latency, faults), ``outbox.py`` and
``notifier.py`` (what WeChat owes merchants and its delivery), ``control_api.py`` and ``app.py``
(HTTP).

State changes run on the event loop without awaiting in between, so each operation is atomic
against concurrent requests; persistence is written behind (see ``store.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator import ids, payer
from jubao.channels.simulator.background import Background
from jubao.channels.simulator.certificates import PlatformCertificate, PlatformCertificates
from jubao.channels.simulator.config import SimulatorConfig, SpMerchant
from jubao.channels.simulator.controls import Behaviour, Controls
from jubao.channels.simulator.keys import load_or_create_platform_key
from jubao.channels.simulator.models import Refund, refund_json, transaction_json
from jubao.channels.simulator.oauth import OAuthCode
from jubao.channels.simulator.outbox import Outbox
from jubao.channels.simulator.state import PAID_STATES, State
from jubao.channels.simulator.v3 import refunds
from jubao.channels.simulator.v3.bills import BillFile

__all__ = ["Behaviour", "Simulator"]


class Simulator:
    """WeChat Pay's side of service-provider mode. See ``docs/simulator.md``."""

    def __init__(self, config: SimulatorConfig, http_client: httpx.AsyncClient | None = None):
        self.config = config
        self._clock = config.clock or (lambda: datetime.now(UTC))
        self._platform = load_or_create_platform_key(config.data_dir)
        self.certificates = PlatformCertificates(
            config.data_dir, self.now, config.platform_certificate_days
        )
        self.state = State(config.merchants, config.data_dir, self.now)
        self.controls = Controls(config.latency_ms)
        self.background = Background()
        self.payer_openids: dict[str, str] = dict(config.payer_openids)
        """appid -> the test payer's openid there (``set_payer_openid``)."""
        self.bill_files: dict[str, BillFile] = {}
        """Trade bills applied for, by download token (in memory: their URLs live minutes)."""
        self.oauth_codes: dict[str, OAuthCode] = {}
        """Official-account OAuth codes issued by the authorize page (in memory: 5 minutes)."""
        self.outbox = Outbox(
            config=config,
            signer=self.notification_signer,
            state=self.state,
            background=self.background,
            now=self.now,
            mode_for=self.controls.notification_mode,
            http_client=http_client,
        )

    # ---- identity ------------------------------------------------------------------------

    @property
    def platform_public_key_pem(self) -> bytes:
        return self._platform.public_key_pem

    @property
    def public_key_id(self) -> str:
        return self._platform.key_id

    @property
    def platform_private_key(self) -> rsa.RSAPrivateKey:
        """Signs answers and notifications; stays inside the simulator."""
        return self._platform.private_key

    def notification_signer(self) -> tuple[rsa.RSAPrivateKey, str]:
        """The key and ``Wechatpay-Serial`` of the configured mode (``platform_mode``)."""
        if self.config.platform_mode == "certificate":
            current = self.certificates.signing()
            return current.private_key, current.serial_no
        return self._platform.private_key, self._platform.key_id

    def answer_signer(
        self, request_serial: str | None, certificate_signed: bool = False
    ) -> tuple[rsa.RSAPrivateKey, str]:
        """What signs an answer: the mode a client declares with ``Wechatpay-Serial`` (the public
        key's id, or a platform certificate's serial: then the certificate in effect, which
        tells a client holding an old one to download again), else the configured mode
        (``certificate_signed``: a certificate; ``/v3/certificates`` in either mode)."""
        if request_serial == self._platform.key_id:
            return self._platform.private_key, self._platform.key_id
        if certificate_signed or (request_serial and self.certificates.knows(request_serial)):
            current = self.certificates.signing()
            return current.private_key, current.serial_no
        return self.notification_signer()

    def rotate_platform_certificate(
        self, effective_in: float = 0.0, days: float | None = None
    ) -> dict[str, Any]:
        """Issues a new platform certificate: listed at once, signing from ``effective_in``
        seconds from now (WeChat publishes a new certificate before it uses it)."""
        return _certificate_view(self.certificates.issue(effective_in=effective_in, days=days))

    def platform_certificates(self) -> list[dict[str, Any]]:
        """The certificates ``/v3/certificates`` lists now, as plain PEM."""
        return [_certificate_view(item) for item in self.certificates.listed()]

    def now(self) -> float:
        return self._clock().timestamp()

    def merchant(self, sp_mchid: str) -> tuple[SpMerchant, rsa.RSAPublicKey] | None:
        return self.state.merchant(sp_mchid)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Resumes persisted background work: pending notifications and unsettled refunds."""
        self.outbox.resume()
        for refund in self.state.refunds.values():
            if refund.status == "PROCESSING":
                refunds.settle_later(self, refund)

    async def stop(self) -> None:
        """Cancels background work (it resumes at the next start) and writes everything down."""
        await self.background.cancel()
        await self.outbox.close()
        await self.state.close()

    async def idle(self) -> None:
        """Waits until no background work is running (tests: after a time-scaled delay)."""
        await self.background.idle()

    # ---- the payer and settlement --------------------------------------------------------

    def request_payment(self, sign_params: Any, openid: Any) -> dict[str, Any]:
        """What the WeChat client does for ``wx.requestPayment(sign_params)`` as ``openid``."""
        return payer.request_payment(self, sign_params, openid)

    def scan_and_pay(self, code_url: str, openid: str | None = None) -> dict[str, Any]:
        """The payer scans a Native order's QR code and pays it."""
        return payer.scan_and_pay(self, code_url, openid)

    def enter_password(self, out_trade_no: str, sp_mchid: str | None = None) -> dict[str, Any]:
        """The payer of a USERPAYING code payment enters the password now."""
        return payer.enter_password(self, out_trade_no, sp_mchid)

    def settle_refund(self, refund: Refund) -> None:
        """Moves a PROCESSING refund to its outcome and notifies (called after the delay)."""
        refunds.settle_refund(self, refund)

    # ---- controls ------------------------------------------------------------------------

    @property
    def latency_ms(self) -> int:
        return self.controls.latency_ms

    @latency_ms.setter
    def latency_ms(self, latency_ms: int) -> None:
        self.controls.set_latency(latency_ms)

    def set_payer_openid(self, appid: str, openid: str) -> None:
        """The test payer's openid under ``appid`` (scans, code payments, OAuth)."""
        self.payer_openids[appid] = openid

    def register_sub_merchant(self, sp_mchid: str, sub_mchid: str, sub_appid: str | None) -> None:
        self.state.bind(sp_mchid, sub_mchid, sub_appid)

    def sub_merchants(self) -> dict[str, dict[str, list[str]]]:
        return self.state.bindings()

    def set_behaviour(
        self,
        *,
        out_trade_no: str | None = None,
        payment: str | None = None,
        notifications: str | None = None,
        refunds: str | None = None,
    ) -> dict[str, Any]:
        """Changes the global behaviour, or one order's when ``out_trade_no`` is given."""
        self.controls.set_behaviour(
            out_trade_no=out_trade_no,
            payment=payment,
            notifications=notifications,
            refunds=refunds,
        )
        return self.behaviour(out_trade_no)

    def reset_behaviour(self) -> None:
        self.controls.reset()

    def behaviour(self, out_trade_no: str | None = None) -> dict[str, Any]:
        return self.controls.view(out_trade_no)

    def set_latency(self, latency_ms: int) -> None:
        self.controls.set_latency(latency_ms)

    def inject_faults(
        self, count: int, status: int = 500, code: str = "SYSTEM_ERROR", message: str | None = None
    ) -> None:
        """The next ``count`` v3 calls answer ``status``/``code`` (e.g. 429 FREQUENCY_LIMITED)."""
        self.controls.inject_faults(count, status, code, message)

    def clear_faults(self) -> None:
        self.controls.clear_faults()

    def expire_prepay(self, prepay_id: str) -> None:
        order = self.state.order_by_prepay(prepay_id)
        if order is None:
            raise KeyError(f"unknown prepay_id {prepay_id}")
        order.prepays[prepay_id] = min(order.prepays[prepay_id], self.now())
        self.state.save_order(order)

    def expire_order(self, out_trade_no: str, sp_mchid: str | None = None) -> dict[str, Any]:
        """Makes the order's time_expire pass now: an unpaid order becomes CLOSED."""
        order = self.state.find_order(out_trade_no, sp_mchid)
        if order.trade_state in PAID_STATES:
            raise ValueError("the order is paid; it can no longer expire")
        order.expire_at = min(order.expire_at, self.now())
        self.state.refresh(order)
        self.state.save_order(order)
        return transaction_json(order)

    def transaction_state(self, out_trade_no: str, sp_mchid: str | None = None) -> dict[str, Any]:
        order = self.state.find_order(out_trade_no, sp_mchid)
        self.state.refresh(order)
        now = self.now()
        return {
            "transaction": transaction_json(order),
            "notify_url": order.notify_url,
            "created_at": ids.rfc3339(order.created_at),
            "time_expire": ids.rfc3339(order.expire_at),
            "prepays": [
                {"prepay_id": pid, "expires_at": ids.rfc3339(expiry), "live": expiry > now}
                for pid, expiry in order.prepays.items()
            ],
            "refunds": [
                {**refund_json(item), "notify_url": item.notify_url, "reason": item.reason}
                for item in self.state.refunds_of(order)
            ],
            "notifications": self.notifications(out_trade_no),
            "behaviour": self.behaviour(out_trade_no),
        }

    def notifications(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        """The delivery log, oldest first."""
        return self.outbox.log(out_trade_no)

    def resend_notification(self, notification_id: str) -> dict[str, Any]:
        """Starts a new delivery round of the same notification (same body), with the order's
        current notification behaviour."""
        return self.outbox.resend(notification_id)

    async def send_signtest(self, url: str, sp_mchid: str | None = None) -> dict[str, Any]:
        """Sends one ``WECHATPAY/SIGNTEST/`` probe; a correct receiver answers 4xx/5xx."""
        return await self.outbox.signtest(url, sp_mchid)


def _certificate_view(item: PlatformCertificate) -> dict[str, Any]:
    return {
        "serial_no": item.serial_no,
        "effective_time": ids.rfc3339(item.not_before),
        "expire_time": ids.rfc3339(item.not_after),
        "certificate_pem": item.pem.decode("ascii"),
    }
