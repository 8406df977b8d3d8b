"""`sandbox` and `simulator` trust X-Forwarded-* only when told to, as `serve` does: uvicorn's own
default trusts them from 127.0.0.1 (and wraps every request in its middleware)."""

from __future__ import annotations

from typing import Any

import pytest

from jubao.cli.servers import _serve_forever
from jubao.config import Settings
from jubao.web.corking import PROTOCOL


def _config_of(settings: Settings) -> Any:
    serving = _serve_forever(lambda *_: None, settings)
    try:
        return serving.cr_frame.f_locals["self"].config  # the uvicorn.Server about to serve
    finally:
        serving.close()  # built, not run


@pytest.mark.usefixtures("restored_gc")
def test_forwarded_headers_follow_the_setting() -> None:
    default = _config_of(Settings(port=0))
    assert default.proxy_headers is False
    assert default.http == PROTOCOL  # and each answer in one write (jubao.web.corking)
    assert default.ws == "none"  # no websocket is served: an upgrade is a plain request
    trusted = _config_of(Settings(port=0, proxy_headers=True, forwarded_allow_ips="10.0.0.7"))
    assert trusted.proxy_headers is True
    assert trusted.forwarded_allow_ips == "10.0.0.7"
