"""Platform-certificate mode end to end: the channel downloads and decrypts the simulator's
``/v3/certificates``, verifies answers and notifications by ``Wechatpay-Serial``, refreshes before
the certificates expire and once when an unknown serial appears, and refuses what stays unknown."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jubao.channels.base import TradeStatus, TransactionEvent
from jubao.channels.wechatpay.certificates import CERTIFICATES_PATH, parse_certificates
from jubao.errors import ChannelNotificationRejected, ChannelUnavailable
from tests.channels.simulated import BINDING, Simulated, simulated
from tests.simulator.support import APIV3_KEY, Merchant, host_app

CERTIFICATE_MODE: dict[str, Any] = {
    "platform_mode": "certificate",
    "platform_public_key_pem": None,
    "public_key_id": "",
}
BOGUS_SERIAL = "7" * 40


def certificate_mode(**channel: Any) -> Any:
    return simulated({**CERTIFICATE_MODE, **channel}, platform_mode="certificate")


def downloads(world: Simulated) -> int:
    return world.transport.count(CERTIFICATES_PATH)


def serials(world: Simulated) -> list[str]:
    return [item["serial_no"] for item in world.sim.platform_certificates()]


async def test_payment_and_notification_in_certificate_mode() -> None:
    async with certificate_mode() as world:
        note = await world.pay_and_notify("JB-CERT-0001", 1234)
        (serial,) = serials(world)
        assert note.headers["Wechatpay-Serial"] == serial
        assert not serial.startswith("PUB_KEY_ID")
        event = world.channel.parse_notification(note.headers, note.content)
        assert isinstance(event, TransactionEvent)
        assert (event.transaction.status, event.transaction.total_fen) == (TradeStatus.PAID, 1234)
        queried = await world.channel.query(BINDING, "JB-CERT-0001")
        assert queried.status is TradeStatus.PAID
        # Downloaded once, first; every request then names the certificate it verifies with.
        assert downloads(world) == 1
        assert world.transport.sent[0].url.path.endswith(CERTIFICATES_PATH)
        assert "Wechatpay-Serial" not in world.transport.sent[0].headers
        assert {r.headers["Wechatpay-Serial"] for r in world.transport.sent[1:]} == {serial}


async def test_a_rotated_certificate_is_downloaded_once_and_used() -> None:
    async with certificate_mode() as world:
        await world.pay("JB-CERT-0002", 100)
        world.clock.advance(61)
        world.sim.rotate_platform_certificate()  # in effect at once: answers name a new serial
        assert (await world.channel.query(BINDING, "JB-CERT-0002")).status is TradeStatus.PAID
        assert downloads(world) == 2
        new = serials(world)[-1]
        await world.channel.query(BINDING, "JB-CERT-0002")
        assert world.transport.sent[-1].headers["Wechatpay-Serial"] == new
        note = await world.pay_and_notify("JB-CERT-0003", 100)
        assert note.headers["Wechatpay-Serial"] == new
        world.channel.parse_notification(note.headers, note.content)
        assert downloads(world) == 2


async def test_certificates_are_renewed_before_they_expire() -> None:
    day = 86400
    channel = {"certificate_renew_before_seconds": day, "certificate_refresh_seconds": 30 * day}
    async with simulated({**CERTIFICATE_MODE, **channel}, platform_mode="certificate",
                         platform_certificate_days=2) as world:  # fmt: skip
        await world.pay("JB-CERT-0004", 100)
        assert downloads(world) == 1
        # WeChat lists the successor ahead: it signs from an hour before the first expires.
        world.sim.rotate_platform_certificate(effective_in=2 * day - 3600)
        old, new = serials(world)
        world.clock.advance(day / 2)  # 1.5 days left: nothing due
        await world.channel.query(BINDING, "JB-CERT-0004")
        assert downloads(world) == 1
        world.clock.advance(day / 2 + 60)  # under a day left: renewed before any use of `new`
        await world.channel.query(BINDING, "JB-CERT-0004")
        assert downloads(world) == 2
        world.clock.advance(day - 1800)  # the successor signs now
        answer = await world.channel.query(BINDING, "JB-CERT-0004")
        assert answer.status is TradeStatus.PAID
        assert world.transport.sent[-1].headers["Wechatpay-Serial"] == new != old
        world.clock.advance(3600)  # the first has expired
        await world.channel.query(BINDING, "JB-CERT-0004")
        assert downloads(world) == 2  # no download was needed when the signer changed


async def test_an_unknown_serial_is_refreshed_once_then_refused() -> None:
    def bogus(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith(CERTIFICATES_PATH):
            return response
        headers = httpx.Headers(response.headers)
        headers["Wechatpay-Serial"] = BOGUS_SERIAL
        return httpx.Response(response.status_code, headers=headers, content=response.content)

    async with certificate_mode() as world:
        note = await world.pay_and_notify("JB-CERT-0005", 100)
        world.clock.advance(61)
        world.transport.tamper = bogus
        with pytest.raises(ChannelUnavailable, match="签名验证失败"):
            await world.channel.query(BINDING, "JB-CERT-0005")
        assert downloads(world) == 2  # refreshed once for it
        with pytest.raises(ChannelUnavailable, match="签名验证失败"):
            await world.channel.query(BINDING, "JB-CERT-0005")
        assert downloads(world) == 2  # and not again within the gap
        world.transport.tamper = None

        # A notification naming an unknown serial is refused; a download starts in the
        # background (WeChat retries the notification later); the serial stays unknown.
        world.clock.advance(61)
        forged = dict(note.headers) | {"wechatpay-serial": BOGUS_SERIAL}
        with pytest.raises(ChannelNotificationRejected, match="unknown Wechatpay-Serial"):
            world.channel.parse_notification(forged, note.content)
        for _ in range(100):
            if downloads(world) == 3:
                break
            await asyncio.sleep(0.01)
        assert downloads(world) == 3
        with pytest.raises(ChannelNotificationRejected, match="unknown Wechatpay-Serial"):
            world.channel.parse_notification(forged, note.content)
        await asyncio.sleep(0.05)
        assert downloads(world) == 3
        world.channel.parse_notification(note.headers, note.content)  # the real one still verifies


async def test_a_known_serial_with_another_keys_signature_is_refused() -> None:
    async with certificate_mode() as world:
        note = await world.pay_and_notify("JB-CERT-0006", 100)
        intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        message = (
            f"{note.headers['Wechatpay-Timestamp']}\n{note.headers['Wechatpay-Nonce']}\n".encode()
            + note.content
            + b"\n"
        )
        signature = intruder.sign(message, padding.PKCS1v15(), hashes.SHA256())
        forged = dict(note.headers) | {"wechatpay-signature": base64.b64encode(signature).decode()}
        with pytest.raises(ChannelNotificationRejected, match="does not verify"):
            world.channel.parse_notification(forged, note.content)


async def test_public_key_mode_is_unchanged_and_never_downloads() -> None:
    # A public-key merchant against a simulator signing notifications with certificates: the
    # answers follow the serial the request names, so calls work; a certificate-signed
    # notification is refused (its serial is no key this merchant holds).
    async with simulated(platform_mode="certificate") as world:
        note = await world.pay_and_notify("JB-CERT-0007", 100)
        assert (await world.channel.query(BINDING, "JB-CERT-0007")).status is TradeStatus.PAID
        assert world.transport.sent[-1].headers["Wechatpay-Serial"] == world.sim.public_key_id
        with pytest.raises(ChannelNotificationRejected, match="unknown Wechatpay-Serial"):
            world.channel.parse_notification(note.headers, note.content)
        assert downloads(world) == 0
    async with simulated() as world:
        note = await world.pay_and_notify("JB-CERT-0008", 100)
        assert note.headers["Wechatpay-Serial"] == world.sim.public_key_id
        world.channel.parse_notification(note.headers, note.content)
        assert downloads(world) == 0


async def test_certificates_need_the_right_apiv3_key() -> None:
    async with certificate_mode() as world:
        transport = httpx.ASGITransport(app=host_app(world.sim))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
            answer = await Merchant(http, world.clock).call("GET", CERTIFICATES_PATH)
        assert answer.status_code == 200
        (found,) = parse_certificates(answer.content, APIV3_KEY.encode())
        assert found.serial_no == serials(world)[0] == answer.headers["Wechatpay-Serial"]
        assert found.not_after - found.not_before == timedelta(days=1825)
        with pytest.raises(ValueError, match="GCM tag mismatch"):
            parse_certificates(answer.content, b"x" * 32)


async def test_certificate_client_against_a_public_key_simulator() -> None:
    """The simulator answers in the mode a request names, so a certificate-mode merchant's calls
    work whatever the simulator's mode; its notifications are signed in the simulator's mode
    (public key here) and refused: that is why the sandbox takes the mode as an option."""
    async with simulated(CERTIFICATE_MODE) as world:
        note = await world.pay_and_notify("JB-CERT-0010", 100)
        assert (await world.channel.query(BINDING, "JB-CERT-0010")).status is TradeStatus.PAID
        assert downloads(world) == 1
        assert note.headers["Wechatpay-Serial"] == world.sim.public_key_id
        with pytest.raises(ChannelNotificationRejected, match="unknown Wechatpay-Serial"):
            world.channel.parse_notification(note.headers, note.content)


async def test_a_refused_download_is_never_a_business_refusal() -> None:
    """WeChat refusing the certificates (here an injected 403 NO_AUTH) must not fail the
    operation that needed them for good (a refund would be marked failed): it is unknown."""
    async with certificate_mode() as world:
        world.sim.inject_faults(1, status=403, code="NO_AUTH")
        with pytest.raises(ChannelUnavailable, match="平台证书下载被拒绝"):
            await world.channel.create_payment(world.payment("JB-CERT-0011", 100))
        world.clock.advance(61)  # after the gap it downloads and works
        await world.pay("JB-CERT-0011", 100)
        assert downloads(world) == 2
