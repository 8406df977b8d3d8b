"""Platform-certificate mode (平台证书): for merchants onboarded before the "WeChat Pay public
key", WeChat signs with the key of a platform certificate and names its serial in
``Wechatpay-Serial``. The certificates come from ``GET /v3/certificates``, each encrypted with the
APIv3 key; WeChat rotates them (a new one is listed before it signs), so the store is refreshed
periodically, before the newest one expires, and when an unknown serial appears.

Pure: the HTTP is the client's. A certificate's authenticity rests on the AES-GCM encryption
with the APIv3 key, which only WeChat and the merchant hold (as in WeChat's own SDKs)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.wechatpay import aesgcm, mapping

__all__ = ["CERTIFICATES_PATH", "CertificateStore", "PlatformCertificate", "parse_certificates"]

CERTIFICATES_PATH = "/v3/certificates"


@dataclass(frozen=True, slots=True)
class PlatformCertificate:
    serial_no: str  # upper-case hex, as WeChat writes it in Wechatpay-Serial
    public_key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment < self.not_after


def parse_certificates(body: bytes, apiv3_key: bytes) -> list[PlatformCertificate]:
    """The ``/v3/certificates`` answer: ``{"data": [{serial_no, effective_time, expire_time,
    encrypt_certificate: {algorithm, nonce, associated_data, ciphertext}}]}``; raises
    ``ValueError`` unless every entry decrypts to an RSA certificate with the serial announced."""
    doc = json.loads(body)
    entries = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError("the answer lists no certificate")
    return [_certificate(entry, apiv3_key) for entry in entries]


def _certificate(entry: object, apiv3_key: bytes) -> PlatformCertificate:
    if not isinstance(entry, dict):
        raise ValueError("a certificate entry is not an object")
    serial_no = _text(entry, "serial_no")
    sealed = entry.get("encrypt_certificate")
    if not isinstance(sealed, dict) or sealed.get("algorithm") != aesgcm.ALGORITHM:
        raise ValueError(f"certificate {serial_no}: not {aesgcm.ALGORITHM}-encrypted")
    pem = aesgcm.decrypt(
        apiv3_key,
        _text(sealed, "nonce"),
        str(sealed.get("associated_data") or ""),
        _text(sealed, "ciphertext"),
    )
    # imported here, not at start: x509 is 25 ms of a start, and most merchants use the public key
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(pem)
        announced = int(serial_no, 16)
    except ValueError as exc:
        raise ValueError(f"certificate {serial_no}: {exc}") from None
    if certificate.serial_number != announced:
        raise ValueError(f"certificate {serial_no}: its serial is {certificate.serial_number:X}")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"certificate {serial_no}: not an RSA key")
    # The certificate's own validity, not the listing's effective/expire_time: it is signed.
    return PlatformCertificate(
        serial_no=f"{announced:X}",
        public_key=key,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise mapping.MappingError(f"{key} is missing or not a string")
    return value


class CertificateStore:
    """The platform certificates last downloaded, by serial, and when to download again:

    * ``refresh_seconds`` after the last download (WeChat's SDKs: every few hours);
    * once the last certificate to expire does so within ``renew_before_seconds`` (WeChat lists
      a successor before it is needed);
    * when a serial nobody knows appears (WeChat rotated): once, then the serial is refused.

    Downloads triggered by the last two are at least ``retry_gap_seconds`` apart, so a flood of
    forged serials cannot make the gateway hammer WeChat."""

    def __init__(
        self, *, refresh_seconds: float, renew_before_seconds: float, retry_gap_seconds: float
    ) -> None:
        self._refresh = timedelta(seconds=refresh_seconds)
        self._renew_before = timedelta(seconds=renew_before_seconds)
        self._retry_gap = timedelta(seconds=retry_gap_seconds)
        self._by_serial: dict[str, PlatformCertificate] = {}
        self._loaded_at: datetime | None = None
        self._attempted_at: datetime | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    def key_for(self, serial: str, now: datetime) -> rsa.RSAPublicKey | None:
        """The key of the certificate ``serial`` names, if known and valid ``now``."""
        found = self._by_serial.get(serial.upper())
        return found.public_key if found is not None and found.valid_at(now) else None

    def knows(self, serial: str) -> bool:
        return serial.upper() in self._by_serial

    def newest_serial(self, now: datetime) -> str | None:
        """The serial a request names in ``Wechatpay-Serial``: the newest certificate in effect."""
        current = self._current(now)
        return current.serial_no if current is not None else None

    def replace(self, certificates: Sequence[PlatformCertificate], now: datetime) -> None:
        """A download's result; certificates already expired are dropped."""
        self._by_serial = {item.serial_no: item for item in certificates if item.not_after > now}
        self._loaded_at = now

    def attempt(self, now: datetime) -> None:
        """A download starts (successful or not, the next unforced one waits the gap)."""
        self._attempted_at = now

    def due(self, now: datetime) -> bool:
        """Whether a download is due before the next call (never loaded, stale, or expiring)."""
        if self._loaded_at is None:
            return self.may_retry(now)
        if now - self._loaded_at >= self._refresh:
            return self.may_retry(now)
        # The last certificate to expire: a successor already listed is enough.
        last = max((item.not_after for item in self._by_serial.values()), default=now)
        return last - now <= self._renew_before and self.may_retry(now)

    def may_retry(self, now: datetime) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._retry_gap

    def _current(self, now: datetime) -> PlatformCertificate | None:
        effective = [item for item in self._by_serial.values() if item.valid_at(now)]
        # The latest to take effect; of two alike, the one listed last.
        return max(reversed(effective), key=lambda item: item.not_before, default=None)
