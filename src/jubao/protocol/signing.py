"""Fubei MD5 request signing (reference sections 2 and 11.3).

``sign = UPPER(MD5_utf8("k1=v1&k2=v2&...&kn=vn" + secret))`` over every received top-level
parameter except ``sign``, keys in byte order, values verbatim (``biz_content`` is the exact string
received, never re-serialised).

Real clients build that string in slightly different ways, and a verifier accepts each
(docs/protocol.md, "Signature variants"):

- empty values included as ``key=`` (PHP SDK, Node, Go, .NET), left out (Java, most third-party
  PHP clients), or left out the way PHP's ``empty()`` decides, which also drops ``"0"``;
- keys as sent, or lower-cased (the PHP SDK and Node lower-case keys before sorting);
- values as most clients print them, or as PHP prints them (``true`` -> ``1``, ``false`` -> empty,
  floats with 14 significant digits): ``php_params``, from the envelope.

Every candidate string is hashed and compared with ``hmac.compare_digest``, all of them, always:
how long a check takes depends on the request's shape, never on which variant (if any) matched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

__all__ = ["base_string", "candidate_strings", "sign", "verify"]

Params = Mapping[str, str | None]


def _keep_all(value: str | None) -> bool:
    return True


def _non_empty(value: str | None) -> bool:
    return bool(value)


def _php_non_empty(value: str | None) -> bool:
    return bool(value) and value != "0"  # PHP's !empty($value) for strings


_FILTERS: tuple[Callable[[str | None], bool], ...] = (_keep_all, _non_empty, _php_non_empty)


def _join(params: Params, keep: Callable[[str | None], bool], lower_keys: bool) -> str:
    if keep is _keep_all and not lower_keys:  # the usual string, without a call per parameter
        return "&".join(
            [f"{key}={value or ''}" for key, value in sorted(params.items()) if key != "sign"]
        )
    items = sorted(
        (key.lower() if lower_keys else key, value or "")
        for key, value in params.items()
        if key != "sign" and keep(value)
    )
    return "&".join(f"{key}={value}" for key, value in items)


def base_string(params: Params, *, skip_empty: bool) -> str:
    return _join(params, _non_empty if skip_empty else _keep_all, lower_keys=False)


def candidate_strings(params: Params, php_params: Params | None = None) -> list[str]:
    """Every distinct string a real client could have signed for these parameters, in a fixed
    order. Variants that cannot differ for this request are not built (a typical request has
    one string); which ones those are depends only on the request, never on the secret."""
    renderings = [params]
    if php_params is not None and php_params != params:
        renderings.append(php_params)
    values = [value for rendering in renderings for value in rendering.values()]
    lower_only = all(key == key.lower() for key in params)
    if all(values) and "0" not in values and lower_only and len(renderings) == 1:
        return [_join(params, _keep_all, False)]  # the usual request: one string
    filters = [_keep_all]
    if not all(values):
        filters.append(_non_empty)
    if "0" in values:
        filters.append(_php_non_empty)
    key_cases = [False]
    if not lower_only:
        key_cases.append(True)
    seen: dict[str, None] = {}
    for rendering in renderings:
        for lower_keys in key_cases:
            for keep in filters:
                seen.setdefault(_join(rendering, keep, lower_keys), None)
    return list(seen)


def _digest(text: str, secret: str) -> str:
    return hashlib.md5((text + secret).encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def sign(params: Params, secret: str, *, skip_empty: bool = False) -> str:
    return _digest(base_string(params, skip_empty=skip_empty), secret)


def verify(params: Params, secret: str, received: str, *, php_params: Params | None = None) -> bool:
    """Constant-time, case-insensitive check of ``received`` against every candidate string."""
    if len(received) != 32 or not received.isascii():
        return False
    presented = received.upper().encode("ascii")
    matched = False
    for text in candidate_strings(params, php_params):
        # `|`, not `or`: every candidate is compared, whichever matches
        matched |= hmac.compare_digest(_digest(text, secret).encode("ascii"), presented)
    return matched
