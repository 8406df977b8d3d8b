"""The 1.0 merchant notification form (reference section 8): what jubao POSTs to a merchant's
``call_back_url`` and what a merchant verifies."""

from __future__ import annotations

from collections.abc import Mapping

from jubao.protocol import signing
from jubao.protocol.envelope import SUCCESS_MESSAGE

__all__ = ["ACK", "build_form", "is_acknowledged", "verify_form"]

ACK = "success"


def build_form(data_json: str, secret: str) -> dict[str, str]:
    form = {"result_code": "200", "result_message": SUCCESS_MESSAGE, "data": data_json}
    form["sign"] = signing.sign(form, secret)
    return form


def verify_form(form: Mapping[str, str], secret: str) -> bool:
    received = form.get("sign", "")
    params = {key: value for key, value in form.items() if key != "sign"}
    return signing.verify(params, secret, received)


def is_acknowledged(status: int, body: bytes) -> bool:
    return 200 <= status < 300 and body.strip().lower() == ACK.encode()
