"""The platform ("WeChat Pay public key" mode) RSA key pair and its ``PUB_KEY_ID_…``.

Generated on first run and kept in ``data_dir`` so that merchants configured with the public key
keep verifying after a restart."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.private_keys import load_proven
from jubao.secure_files import private_dir, write_secret_file

__all__ = ["PlatformKey", "load_or_create_platform_key"]

PRIVATE_KEY_FILE = "platform_private.pem"
KEY_ID_FILE = "public_key_id"


@dataclass(frozen=True)
class PlatformKey:
    private_key: rsa.RSAPrivateKey
    public_key_pem: bytes
    key_id: str

    def __repr__(self) -> str:  # never print the private key
        return f"PlatformKey(key_id={self.key_id!r})"


def _new_key_id() -> str:
    # Real ids look like PUB_KEY_ID_0114232134912410000000000000000000: digits after the prefix.
    return "PUB_KEY_ID_" + "".join(str(secrets.randbelow(10)) for _ in range(34))


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_or_create_platform_key(data_dir: Path | None) -> PlatformKey:
    if data_dir is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return PlatformKey(key, _public_pem(key), _new_key_id())
    private_dir(data_dir)
    key_file, id_file = data_dir / PRIVATE_KEY_FILE, data_dir / KEY_ID_FILE
    if key_file.exists() and id_file.exists():
        loaded = load_proven(key_file.read_bytes())
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{key_file} does not hold an RSA private key")
        return PlatformKey(loaded, _public_pem(loaded), id_file.read_text("ascii").strip())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_secret_file(key_file, pem)
    key_id = _new_key_id()
    write_secret_file(id_file, key_id + "\n")
    return PlatformKey(key, _public_pem(key), key_id)
