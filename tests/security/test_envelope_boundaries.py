"""Strict nonce mode cannot be bypassed by moving the ``&`` boundary of the signed string
(issue "security hardening" item 2).

The sign string joins ``key=value`` pairs with ``&``, so ``{"nonce": "N", "sign_method": "md5"}``
and ``{"nonce": "N&sign_method=md5"}`` sign the same text. Were the second accepted, a captured
request could be resent with the same sign as a "new" nonce. SQLite is enough: the refusal
happens before any storage."""

from __future__ import annotations

import json
from pathlib import Path

from tests.security.support import assert_failure, post_body
from tests.support import fubei
from tests.support.sandbox import running_sandbox


async def test_a_nonce_cannot_swallow_the_next_parameter(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as running:
        app_id, secret = running.info["app_id"], running.info["app_secret"]
        assert await running.runtime.merchants.set_strict_nonce(app_id, True)
        captured = fubei.envelope(app_id, secret, "openapi.get.time", {}, nonce="N1")
        assert (await post_body(running, json.dumps(captured).encode()))["result_code"] == 200
        assert_failure(await post_body(running, json.dumps(captured).encode()), "NONCE_REUSED")

        # the same sign, the boundary moved: nonce swallows sign_method (and then version)
        folded = dict(captured)
        del folded["sign_method"]
        folded["nonce"] = "N1&sign_method=md5"
        assert fubei.md5_sign(folded, secret) == captured["sign"]  # the attack's premise
        assert_failure(await post_body(running, json.dumps(folded).encode()), "INVALID_PARAMETER")

        del folded["version"]
        folded["nonce"] = "N1&sign_method=md5&version=1.0"
        assert fubei.md5_sign(folded, secret) == captured["sign"]
        assert_failure(await post_body(running, json.dumps(folded).encode()), "INVALID_PARAMETER")

        # or a key swallows the boundary instead of a value
        keyed = {k: v for k, v in captured.items() if k not in ("nonce", "sign_method")}
        keyed["nonce=N1&sign_method"] = "md5"
        assert fubei.md5_sign(keyed, secret) == captured["sign"]
        assert_failure(await post_body(running, json.dumps(keyed).encode()), "INVALID_PARAMETER")

        # a nonce outside the documented characters is refused even when correctly signed
        odd = fubei.envelope(app_id, secret, "openapi.get.time", {}, nonce="N 1")
        assert_failure(await post_body(running, json.dumps(odd).encode()), "INVALID_PARAMETER")
        fresh = fubei.envelope(app_id, secret, "openapi.get.time", {}, nonce="N2-uuid_like.1")
        assert (await post_body(running, json.dumps(fresh).encode()))["result_code"] == 200
