"""An independent Fubei request signer for tests: written from the reference text, deliberately
not importing jubao's own signing code, so a mistake there cannot be mirrored here."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any


def md5_sign(params: dict[str, str], secret: str) -> str:
    base = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
    return hashlib.md5((base + secret).encode("utf-8")).hexdigest().upper()


def envelope(
    app_id: str,
    secret: str,
    method: str,
    biz: dict[str, Any] | str,
    *,
    id_key: str = "app_id",
    **extra: str,
) -> dict[str, str]:
    """``id_key="vendor_sn"``: signed by a service provider (Open API 2.0)."""
    biz_text = biz if isinstance(biz, str) else json.dumps(biz, ensure_ascii=False)
    params = {
        id_key: app_id,
        "method": method,
        "format": "json",
        "sign_method": "md5",
        "nonce": secrets.token_hex(8),
        "version": "1.0",
        "biz_content": biz_text,
        **extra,
    }
    params["sign"] = md5_sign(params, secret)
    return params


def body(
    app_id: str,
    secret: str,
    method: str,
    biz: dict[str, Any] | str,
    *,
    id_key: str = "app_id",
    **extra: str,
) -> bytes:
    signed = envelope(app_id, secret, method, biz, id_key=id_key, **extra)
    return json.dumps(signed, ensure_ascii=False).encode()
