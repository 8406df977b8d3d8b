"""Secrets at rest: round trip, wrong key or row refused, tampering detected, legacy plaintext
readable, rotation across keys."""

from __future__ import annotations

import base64

import pytest

from jubao.errors import SealingError
from jubao.security.sealing import PLAINTEXT, MasterKey, Sealer, key_id_of, new_master_key_text

AAD = b"jubao:apps.app_secret:20240101000000000001"
OTHER_AAD = b"jubao:apps.app_secret:20240101000000000002"


def sealer(*keys: str) -> Sealer:
    return Sealer(MasterKey.parse(keys[0]), [MasterKey.parse(k) for k in keys[1:]])


def test_round_trip_and_format() -> None:
    key = new_master_key_text()
    sealed = sealer(key).seal("s3cret-value", AAD)
    assert sealed.startswith(f"v1:{MasterKey.parse(key).key_id}:")
    assert "s3cret-value" not in sealed
    assert sealer(key).open(sealed, AAD) == "s3cret-value"


def test_each_seal_uses_a_fresh_nonce() -> None:
    box = sealer(new_master_key_text())
    assert box.seal("same", AAD) != box.seal("same", AAD)


def test_wrong_key_fails() -> None:
    sealed = sealer(new_master_key_text()).seal("x", AAD)
    with pytest.raises(SealingError, match="unknown master key"):
        sealer(new_master_key_text()).open(sealed, AAD)


def test_same_key_id_but_different_bytes_fails_authentication() -> None:
    key = new_master_key_text()
    sealed = sealer(key).seal("x", AAD)
    impostor = Sealer(MasterKey(MasterKey.parse(key).key_id, b"\x00" * 32))
    with pytest.raises(SealingError, match="failed authentication"):
        impostor.open(sealed, AAD)


def test_value_moved_to_another_row_fails() -> None:
    box = sealer(new_master_key_text())
    with pytest.raises(SealingError, match="failed authentication"):
        box.open(box.seal("x", AAD), OTHER_AAD)


@pytest.mark.parametrize("position", [0, 5, 12, 20, -1])
def test_tampering_fails(position: int) -> None:
    box = sealer(new_master_key_text())
    prefix, key_id, blob = box.seal("tamper-me", AAD).split(":")
    raw = bytearray(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    raw[position] ^= 0x01
    forged = f"{prefix}:{key_id}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(SealingError):
        box.open(forged, AAD)


def test_truncated_and_garbled_values_fail() -> None:
    box = sealer(new_master_key_text())
    key_id = box.key_ids[0]
    with pytest.raises(SealingError, match="truncated"):
        box.open(f"v1:{key_id}:AAAA", AAD)
    with pytest.raises(SealingError):
        box.open(f"v1:{key_id}:!!!*", AAD)


def test_legacy_plaintext_opens_as_itself_and_needs_resealing() -> None:
    box = sealer(new_master_key_text())
    assert box.open("0123456789abcdef0123456789abcdef", AAD) == "0123456789abcdef0123456789abcdef"
    assert key_id_of("0123456789abcdef") == PLAINTEXT
    assert box.needs_reseal("0123456789abcdef")


def test_without_a_key_values_stay_plaintext() -> None:
    box = Sealer.from_config("", "")
    assert not box.enabled
    assert box.seal("plain", AAD) == "plain"
    assert not box.needs_reseal("plain")
    with pytest.raises(SealingError, match="unknown master key"):
        box.open(sealer(new_master_key_text()).seal("x", AAD), AAD)


def test_rotation_old_keys_open_current_key_seals() -> None:
    old, new = new_master_key_text(), new_master_key_text()
    under_old = sealer(old).seal("rotate-me", AAD)
    rotated = Sealer.from_config(new, f"{new_master_key_text()}, {old}")
    assert rotated.needs_reseal(under_old)
    resealed = rotated.seal(rotated.open(under_old, AAD), AAD)
    assert key_id_of(resealed) == MasterKey.parse(new).key_id
    assert not rotated.needs_reseal(resealed)
    assert sealer(new).open(resealed, AAD) == "rotate-me"  # the old key is no longer needed


@pytest.mark.parametrize("text", ["", "short", "not base64 at all!", base64.b64encode(b"x" * 31)])
def test_bad_master_keys_are_refused(text: str | bytes) -> None:
    value = text.decode() if isinstance(text, bytes) else text
    with pytest.raises(SealingError):
        MasterKey.parse(value)


def test_standard_base64_and_padding_are_accepted() -> None:
    raw = bytes(range(32))
    assert MasterKey.parse(base64.b64encode(raw).decode()).secret == raw
    assert MasterKey.parse(base64.urlsafe_b64encode(raw).decode().rstrip("=")).secret == raw


def test_keys_never_print() -> None:
    key = MasterKey.parse(new_master_key_text())
    assert key.secret.hex() not in repr(key) and str(key.secret) not in repr(key)
