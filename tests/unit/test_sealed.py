"""``web.sealed``: state handed to a browser comes back only as it was sealed, only to the page
that sealed it (its purpose), and only before it expires; the short stamp likewise."""

from __future__ import annotations

import time

import pytest

from jubao.config import Settings
from jubao.web.sealed import Sealer

KEY = "a" * 43  # 32 bytes in base64url


@pytest.fixture
def settings() -> Settings:
    return Settings(master_key=KEY)


def test_a_sealed_state_opens_as_it_was(settings: Settings) -> None:
    sealer = Sealer(settings, "page one")
    token = sealer.seal({"u": "https://x/", "n": 1})
    opened = sealer.open(token)
    assert opened is not None and opened["u"] == "https://x/" and opened["n"] == 1
    # the same master key and purpose open it in another process
    assert Sealer(settings, "page one").open(token) == opened


def test_tampered_foreign_or_malformed_tokens_do_not_open(settings: Settings) -> None:
    sealer = Sealer(settings, "page one")
    token = sealer.seal({"u": "https://x/"})
    body, mac = token.split(".")
    assert Sealer(settings, "page two").open(token) is None  # another purpose
    assert sealer.open(f"{body}x.{mac}") is None
    assert sealer.open(f"{body}.{mac[:-2]}AA") is None
    for junk in ("", ".", "abc", "a.b", "☃.☃", "x" * 5000):
        assert sealer.open(junk) is None


def test_an_expired_state_does_not_open(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sealer = Sealer(settings, "page one", ttl_seconds=60)
    token = sealer.seal({"u": "https://x/"})
    stamp = sealer.stamp("code-1")
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert sealer.open(token) is None
    assert not sealer.stamped("code-1", stamp)


def test_a_stamp_is_short_and_proves_its_subject(settings: Settings) -> None:
    sealer = Sealer(settings, "alipay state")
    stamp = sealer.stamp("code-1")
    assert len(stamp) <= 60  # Alipay's state takes 100 characters at most
    assert sealer.stamped("code-1", stamp)
    assert not sealer.stamped("code-2", stamp)
    assert not Sealer(settings, "other").stamped("code-1", stamp)
    expires, mac = stamp.split(".")
    assert not sealer.stamped("code-1", f"{int(expires) + 1}.{mac}")
    for junk in ("", ".", "x.y", "99999999999999.abc", "١٢٣.abc"):
        assert not sealer.stamped("code-1", junk)
