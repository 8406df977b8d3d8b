"""Private keys loaded without OpenSSL's full check on load, then proven by one signature.

OpenSSL's check of an RSA key on load (p and q prime, every CRT part consistent) costs 70-100 ms
of CPU per 2048-bit key, and a start loads up to five (the sandbox: its SP key, the simulators'
platform keys, Alipay's app and platform keys): a quarter of the sandbox's time to a first answer
(docs/benchmarks.md, "Round seven"). What the gateway needs of a key is that its signatures verify
under its public half; one signature and one verification (~1.3 ms) prove that, and a key that
fails them is refused at start, as an inconsistent key was before.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["load_proven"]

_PROBE = b"jubao private key self-test"


def load_proven(
    data: bytes, *, der: bool = False, password: bytes | None = None
) -> PrivateKeyTypes:
    """The key in ``data`` (PEM, or DER when ``der``); an RSA key must sign ``_PROBE`` so that its
    public half verifies it. Raises ``ValueError`` or ``TypeError`` as ``cryptography`` does."""
    load = serialization.load_der_private_key if der else serialization.load_pem_private_key
    key = load(data, password=password, unsafe_skip_rsa_key_validation=True)
    if isinstance(key, rsa.RSAPrivateKey):
        _prove(key)
    return key


def _prove(key: rsa.RSAPrivateKey) -> None:
    scheme, digest = padding.PKCS1v15(), hashes.SHA256()
    try:
        key.public_key().verify(key.sign(_PROBE, scheme, digest), _PROBE, scheme, digest)
    except (InvalidSignature, ValueError) as exc:
        raise ValueError("RSA private key is inconsistent: its signature does not verify") from exc
