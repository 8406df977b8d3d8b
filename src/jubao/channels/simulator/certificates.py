"""Platform certificates (平台证书): the older way merchants verify WeChat, before the "WeChat Pay
public key". Each is an RSA-2048 key with an X.509 certificate whose serial (upper-case hex) is
the ``Wechatpay-Serial`` of what it signs; merchants download them from ``GET /v3/certificates``,
each encrypted with their APIv3 key (reference §7, "platform certificate").

WeChat rotates them: a new certificate is published before it signs anything, and signs once it
is effective. Issued on first need (a simulator in public-key mode may never make one) and kept
in ``data_dir`` so that merchants' cached certificates survive a restart."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator.ids import rfc3339
from jubao.channels.simulator.signing import encrypt_resource
from jubao.private_keys import load_proven
from jubao.secure_files import write_secret_file

if TYPE_CHECKING:  # x509 is imported where it is used: it is 25 ms of a start
    from cryptography import x509

__all__ = ["CERTIFICATES_FILE", "PlatformCertificate", "PlatformCertificates"]

CERTIFICATES_FILE = "platform_certificates.json"


@dataclass(frozen=True)
class PlatformCertificate:
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def serial_no(self) -> str:
        return f"{self.certificate.serial_number:X}"

    @property
    def not_before(self) -> float:
        return self.certificate.not_valid_before_utc.timestamp()

    @property
    def not_after(self) -> float:
        return self.certificate.not_valid_after_utc.timestamp()

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def __repr__(self) -> str:  # never print the private key
        return f"PlatformCertificate(serial_no={self.serial_no!r})"

    def listing(self, apiv3_key: str) -> dict[str, Any]:
        """One entry of ``/v3/certificates``: the PEM encrypted with the merchant's APIv3 key."""
        encrypted = encrypt_resource(apiv3_key, self.pem, "certificate")
        return {
            "serial_no": self.serial_no,
            "effective_time": rfc3339(self.not_before),
            "expire_time": rfc3339(self.not_after),
            "encrypt_certificate": encrypted,
        }


def _issue(not_before: float, days: float) -> PlatformCertificate:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Tenpay.com CA Center"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com sign (jubao simulator)"),
        ]
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # 160 bits with the top nibble set: always 40 hex digits, like WeChat's serials.
    serial = secrets.randbits(159) | (1 << 158)
    start = datetime.fromtimestamp(int(not_before), UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return PlatformCertificate(key, certificate)


class PlatformCertificates:
    """The simulator's platform certificates, oldest first."""

    def __init__(self, data_dir: Path | None, now: Callable[[], float], days: float) -> None:
        self._file = data_dir / CERTIFICATES_FILE if data_dir is not None else None
        self._now = now
        self._days = days
        self._items: list[PlatformCertificate] = self._load()

    def issue(self, *, effective_in: float = 0.0, days: float | None = None) -> PlatformCertificate:
        """A new certificate, listed at once, signing from ``effective_in`` seconds from now."""
        issued = _issue(self._now() + effective_in, days if days is not None else self._days)
        self._items.append(issued)
        self._save()
        return issued

    def listed(self) -> list[PlatformCertificate]:
        """What ``/v3/certificates`` answers: every certificate not yet expired (one is made
        when there is none), those not yet effective included."""
        now = self._now()
        live = [item for item in self._items if item.not_after > now]
        return live or [self.issue()]

    def signing(self) -> PlatformCertificate:
        """The newest certificate in effect now (one is made when there is none)."""
        now = self._now()
        effective = [item for item in self.listed() if item.not_before <= now]
        return effective[-1] if effective else self.issue()

    def knows(self, serial_no: str) -> bool:
        return any(item.serial_no == serial_no.upper() for item in self._items)

    def _load(self) -> list[PlatformCertificate]:
        if self._file is None or not self._file.exists():
            return []
        from cryptography import x509

        items = []
        for record in json.loads(self._file.read_text("utf-8")):
            key = load_proven(base64.b64decode(record["key"]))
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{self._file} holds a key that is not RSA")
            certificate = x509.load_pem_x509_certificate(record["certificate"].encode("ascii"))
            items.append(PlatformCertificate(key, certificate))
        return items

    def _save(self) -> None:
        if self._file is None:
            return
        records = [
            {
                "key": base64.b64encode(
                    item.private_key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                ).decode("ascii"),
                "certificate": item.pem.decode("ascii"),
            }
            for item in self._items
        ]
        write_secret_file(self._file, json.dumps(records, indent=1))
