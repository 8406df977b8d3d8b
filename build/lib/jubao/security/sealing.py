"""Secrets at rest: AES-256-GCM under a master key, pure (no I/O, no settings).

A sealed value is text ``v1:<key id>:<base64url(nonce || ciphertext+tag)>`` with a random 96-bit
nonce per value and associated data that binds it to its row (an app secret sealed for one app
cannot be moved to another). The key id is derived from the key, so rotation needs no id
bookkeeping: the current key seals, the current and older keys open. A value without the ``v1:``
prefix is legacy plaintext and opens as itself, so databases written before sealing keep working
until ``jubao secrets rotate`` seals them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jubao.errors import SealingError

__all__ = ["PLAINTEXT", "MasterKey", "Sealer", "key_id_of", "new_master_key_text"]

PREFIX = "v1"
PLAINTEXT = "plaintext"  # the key id reported for legacy unsealed values
_NONCE_BYTES = 12
_KEY_BYTES = 32


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_master_key_text() -> str:
    """A fresh master key as configuration text (32 random bytes, base64url)."""
    return _b64encode(os.urandom(_KEY_BYTES))


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    secret: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> MasterKey:
        """``text``: 32 bytes in base64url (padding optional) or standard base64."""
        cleaned = text.strip()
        try:
            raw = _b64decode(cleaned.replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError) as exc:
            raise SealingError("master key is not valid base64") from exc
        if len(raw) != _KEY_BYTES:
            raise SealingError(f"master key must be {_KEY_BYTES} bytes, got {len(raw)}")
        return cls(_derive_key_id(raw), raw)


def _derive_key_id(raw: bytes) -> str:
    return hashlib.sha256(b"jubao master key id\x00" + raw).hexdigest()[:8]


def key_id_of(stored: str) -> str:
    """The key id a stored value is sealed under, or ``PLAINTEXT`` for a legacy value."""
    parts = stored.split(":", 2)
    if len(parts) == 3 and parts[0] == PREFIX:
        return parts[1]
    return PLAINTEXT


class Sealer:
    """Seals with the current key; opens with any known key. Without a current key it stores
    plaintext (and still opens values sealed under ``previous`` keys)."""

    def __init__(self, current: MasterKey | None, previous: Iterable[MasterKey] = ()) -> None:
        self.current = current
        self._keys: dict[str, AESGCM] = {}
        for key in [*([current] if current else []), *previous]:
            if key.key_id in self._keys:
                continue  # the same key listed twice
            self._keys[key.key_id] = AESGCM(key.secret)

    @classmethod
    def from_config(cls, current: str, previous: str = "") -> Sealer:
        """``current``: one key text or empty; ``previous``: comma-separated key texts."""
        old = [MasterKey.parse(part) for part in previous.split(",") if part.strip()]
        return cls(MasterKey.parse(current) if current.strip() else None, old)

    @property
    def enabled(self) -> bool:
        return self.current is not None

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, plaintext: str, aad: bytes) -> str:
        if self.current is None:
            return plaintext
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.current.key_id].encrypt(nonce, plaintext.encode("utf-8"), aad)
        return f"{PREFIX}:{self.current.key_id}:{_b64encode(nonce + sealed)}"

    def open(self, stored: str, aad: bytes) -> str:
        key_id = key_id_of(stored)
        if key_id == PLAINTEXT:
            return stored
        cipher = self._keys.get(key_id)
        if cipher is None:
            raise SealingError(
                f"value sealed under unknown master key {key_id}: "
                "add that key to JUBAO_MASTER_KEY_OLD"
            )
        try:
            blob = _b64decode(stored.split(":", 2)[2])
        except (binascii.Error, ValueError) as exc:
            raise SealingError(f"sealed value under key {key_id} is not valid base64") from exc
        if len(blob) <= _NONCE_BYTES:
            raise SealingError(f"sealed value under key {key_id} is truncated")
        try:
            plain = cipher.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise SealingError(
                f"sealed value under key {key_id} failed authentication "
                "(tampered, or moved from another row)"
            ) from exc
        return plain.decode("utf-8")

    def needs_reseal(self, stored: str) -> bool:
        """Whether rotation should rewrite this value (plaintext, or sealed under an old key)."""
        return self.current is not None and key_id_of(stored) != self.current.key_id
