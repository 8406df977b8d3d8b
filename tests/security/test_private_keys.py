"""Private keys load without OpenSSL's slow check but must prove themselves by one signature."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jubao.channels.alipay.keys import load_private_key as alipay_private_key
from jubao.channels.wechatpay.keys import load_private_key as wechat_private_key
from jubao.private_keys import load_proven


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def good() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def inconsistent(good: rsa.RSAPrivateKey) -> bytes:
    """A key whose private exponent and one CRT part do not match its modulus: it signs, but its
    signatures do not verify (OpenSSL's check on load would have refused it)."""
    numbers = good.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d + 2,
        dmp1=numbers.dmp1 + 2,
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    )
    return _pem(broken.private_key(unsafe_skip_rsa_key_validation=True))


def test_a_good_key_loads_in_pem_and_der(good: rsa.RSAPrivateKey) -> None:
    der = good.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for loaded in (load_proven(_pem(good)), load_proven(der, der=True)):
        assert isinstance(loaded, rsa.RSAPrivateKey)
        assert loaded.private_numbers() == good.private_numbers()


def test_an_encrypted_key_needs_its_password(good: rsa.RSAPrivateKey) -> None:
    pem = good.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    )
    loaded = load_proven(pem, password=b"correct horse")
    assert isinstance(loaded, rsa.RSAPrivateKey)
    with pytest.raises((ValueError, TypeError)):
        load_proven(pem, password=b"wrong")


def test_an_inconsistent_key_is_refused(inconsistent: bytes) -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        load_proven(inconsistent)


def test_the_channels_refuse_an_inconsistent_key(inconsistent: bytes) -> None:
    with pytest.raises(ValueError, match="not an unencrypted PEM key"):
        wechat_private_key(inconsistent)
    with pytest.raises(ValueError, match="not an unencrypted RSA key"):
        alipay_private_key(inconsistent.decode("ascii"))


def test_a_key_of_another_kind_is_returned_for_its_caller_to_refuse() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert isinstance(load_proven(_pem(key)), ec.EllipticCurvePrivateKey)
    with pytest.raises(ValueError, match="must be RSA"):
        wechat_private_key(_pem(key))
