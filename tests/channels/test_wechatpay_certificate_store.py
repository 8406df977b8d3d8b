"""When the channel downloads the platform certificates again (``CertificateStore``), pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.wechatpay.certificates import CertificateStore, PlatformCertificate

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def certificate(
    key: rsa.RSAPublicKey, serial: str, start: datetime, days: int
) -> PlatformCertificate:
    return PlatformCertificate(serial, key, start, start + days * DAY)


def store() -> CertificateStore:
    return CertificateStore(
        refresh_seconds=12 * 3600, renew_before_seconds=7 * 86400, retry_gap_seconds=60
    )


def test_due_first_then_after_the_refresh_interval(key: rsa.RSAPublicKey) -> None:
    certs = store()
    assert certs.due(T0)
    certs.attempt(T0)
    assert not certs.due(T0 + timedelta(seconds=59))  # a failed first try waits the gap
    certs.replace([certificate(key, "AA", T0 - DAY, 365)], T0)
    assert not certs.due(T0 + 11 * HOUR)
    assert certs.due(T0 + 12 * HOUR)


def test_due_before_the_last_certificate_expires(key: rsa.RSAPublicKey) -> None:
    certs = store()
    certs.attempt(T0)
    certs.replace([certificate(key, "AA", T0 - DAY, 9)], T0)  # expires T0 + 8 days
    assert not certs.due(T0 + 20 * timedelta(minutes=1))
    certs = store()
    certs.attempt(T0)
    certs.replace([certificate(key, "AA", T0 - DAY, 7)], T0)  # within the week
    assert not certs.due(T0 + timedelta(seconds=30))  # but not more than once per gap
    assert certs.due(T0 + timedelta(seconds=60))
    # A successor listed ahead is enough: nothing due until the refresh interval.
    certs.replace(
        [certificate(key, "AA", T0 - DAY, 7), certificate(key, "BB", T0 + 5 * DAY, 365)], T0
    )
    assert not certs.due(T0 + HOUR)


def test_keys_by_serial_within_their_validity(key: rsa.RSAPublicKey) -> None:
    certs = store()
    certs.replace(
        [
            certificate(key, "0AA", T0 - 10 * DAY, 5),  # expired: dropped
            certificate(key, "BB", T0 - DAY, 30),
            certificate(key, "CC", T0 + DAY, 30),  # not yet in effect
        ],
        T0,
    )
    assert not certs.knows("0AA")
    assert certs.key_for("bb", T0) is key  # serials compare in any case
    assert certs.key_for("CC", T0) is None
    assert certs.key_for("CC", T0 + DAY) is key
    assert certs.newest_serial(T0) == "BB"
    assert certs.newest_serial(T0 + DAY) == "CC"
    assert certs.key_for("BB", T0 + 30 * DAY) is None  # expired since
