"""Key material from configuration: the sealer for secrets at rest, the sandbox's generated master
key, and the WeChat Pay API private key (optionally a passphrase-encrypted PKCS#8 PEM)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from jubao.errors import SealingError
from jubao.private_keys import load_proven
from jubao.secure_files import create_secret_file, private_dir, private_file
from jubao.security.sealing import Sealer, new_master_key_text

if TYPE_CHECKING:  # a type only: config validates key text with security.sealing
    from jubao.config import Settings

__all__ = ["load_or_create_master_key", "private_key_pem", "sealer_for", "warn_if_unsealed"]

log = logging.getLogger("jubao.security")


def sealer_for(settings: Settings) -> Sealer:
    """The sealer configured by ``JUBAO_MASTER_KEY`` and ``JUBAO_MASTER_KEY_OLD``."""
    return Sealer.from_config(settings.master_key, settings.master_key_old)


def warn_if_unsealed(settings: Settings) -> None:
    if not settings.master_key:
        log.warning(
            "JUBAO_MASTER_KEY is not set: app secrets are stored in the database in plaintext "
            "(see docs/security.md; `jubao secrets new-key` makes one)"
        )


def load_or_create_master_key(folder: Path) -> str:
    """The sandbox's master key: generated once into ``folder/master_key`` (mode 600)."""
    private_dir(folder, narrow=True)
    key_file = folder / "master_key"
    if not key_file.exists():
        create_secret_file(key_file, new_master_key_text())  # a concurrent start keeps one key
    private_file(key_file)
    return key_file.read_text("utf-8").strip()


def private_key_pem(path: Path, passphrase: str) -> bytes:
    """The PEM at ``path`` as an unencrypted PKCS#8 PEM in memory.

    An encrypted PEM (``openssl pkcs8 -topk8 -v2 aes-256-cbc``) is opened with ``passphrase``;
    a plain PEM is returned as it is (a passphrase is then ignored).
    """
    data = path.read_bytes()
    encrypted = b"ENCRYPTED" in data.split(b"\n", 2)[0] or b"Proc-Type: 4,ENCRYPTED" in data
    if not encrypted:
        return data
    if not passphrase:
        raise SealingError(
            f"{path} is an encrypted private key: set JUBAO_SP_PRIVATE_KEY_PASSPHRASE"
        )
    try:
        key = load_proven(data, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise SealingError(f"{path}: wrong passphrase or unreadable private key") from exc
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
