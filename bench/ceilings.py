"""The RSA ceiling: RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second over all cores, one
process per core (``multiprocessing``), with ``cryptography`` as jubao uses it."""

from __future__ import annotations

import multiprocessing
import os
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["rsa_cpu_ms_per_signature", "rsa_signatures_per_second", "sign_times"]

# A v3 request signature's message is about this long (method, URL, time, nonce, body).
MESSAGE = b"POST\n/v3/pay/partner/transactions/jsapi\n1700000000\nNONCE\n" + b"x" * 400 + b"\n"


def _sign_for(seconds: float) -> tuple[int, float]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    scheme, digest = padding.PKCS1v15(), hashes.SHA256()
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(20):
            key.sign(MESSAGE, scheme, digest)
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count, now - started


def rsa_signatures_per_second(seconds: float, processes: int | None = None) -> float:
    """Sum over ``processes`` (default: all cores) of each process's signatures per second."""
    workers = processes or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.map(_sign_for, [seconds] * workers)
    return sum(count / elapsed for count, elapsed in results)


def rsa_cpu_ms_per_signature(seconds: float) -> float:
    """CPU milliseconds (this process's ``process_time``) one RSA-2048 signature costs here: the
    unit of ``rsa_share``. CPU time, not wall time, so other load on the machine matters less."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    scheme, digest = padding.PKCS1v15(), hashes.SHA256()
    count = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for _ in range(20):
            key.sign(MESSAGE, scheme, digest)
        count += 20
    return (time.process_time() - started) * 1000 / count


def sign_times(key_file: str, times: int) -> None:
    """Sign ``MESSAGE`` ``times`` times with the PEM key in ``key_file``. ``bench.instructions``
    counts this under callgrind for 1 and for 21 times: the difference over 20 is one signature,
    loading Python and the key and OpenSSL's set-up on the first signature cancelling out."""
    from pathlib import Path

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(Path(key_file).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{key_file}: not an RSA private key")
    scheme, digest = padding.PKCS1v15(), hashes.SHA256()
    for _ in range(times):
        key.sign(MESSAGE, scheme, digest)
