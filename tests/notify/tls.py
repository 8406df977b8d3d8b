"""A bare HTTP/1.1 merchant endpoint over TLS on loopback, with a certificate for one host name,
and a client TLS context that trusts only that certificate."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.rawhttp import read_request
from tests.support.servers import listening_socket


def self_signed(name: str, folder: Path) -> tuple[Path, Path, str]:
    """A certificate for ``name`` (its own CA) and its key, written as PEM files; the PEM."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem.decode("ascii")


@dataclass
class TlsMerchant:
    """Answers every request ``answer``; keeps each request head, the SNI of each connection."""

    port: int
    trusting: ssl.SSLContext  # a client context that trusts this server's certificate
    certificate_pem: str
    answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsuccess"
    heads: list[bytes] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # one per TLS connection

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            while True:
                head, _body = await read_request(reader)
                self.heads.append(head)
                writer.write(self.answer)
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def tls_merchant(name: str, folder: Path) -> AsyncIterator[TlsMerchant]:
    cert_file, key_file, pem = self_signed(name, folder)
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    sock = listening_socket()
    merchant = TlsMerchant(sock.getsockname()[1], trusting, pem)

    def sni(connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        merchant.server_names.append(server_name)

    serving.sni_callback = sni
    server = await asyncio.start_server(merchant.handle, sock=sock, ssl=serving)
    try:
        yield merchant
    finally:
        server.close()
        await server.wait_closed()
