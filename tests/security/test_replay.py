"""Strict nonce mode: off by default (real SDKs send fixed nonces); when on, a nonce is accepted
once per app within 24 h, enforced by the database, checked only after the signature. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jubao.security.replay import NONCE_WINDOW_MS, purge_nonces, remember_nonce
from jubao.storage.database import open_database
from tests.security.support import assert_failure, body_without, post_body, post_signed
from tests.support.sandbox import running_sandbox

MINA = "openapi.payment.order.mina"


async def test_strict_nonce_through_the_gateway(tmp_path: Path, database_url: str) -> None:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        app_id, secret = running.info["app_id"], running.info["app_secret"]
        # off by default: the PHP demo's fixed nonce works every time
        for _ in range(3):
            assert (await post_signed(running, app_id, secret, nonce="12312"))["result_code"] == 200

        assert await running.runtime.merchants.set_strict_nonce(app_id, True)
        assert (await post_signed(running, app_id, secret, nonce="ilay1380"))["result_code"] == 200
        assert_failure(await post_signed(running, app_id, secret, nonce="ilay1380"), "NONCE_REUSED")
        assert (await post_signed(running, app_id, secret, nonce="ilay1381"))["result_code"] == 200

        # a forged request cannot burn a nonce: the signature is checked first
        assert_failure(await post_signed(running, app_id, "wrong", nonce="fresh-1"), "SIGN_ERROR")
        assert (await post_signed(running, app_id, secret, nonce="fresh-1"))["result_code"] == 200

        assert_failure(
            await post_body(running, body_without(app_id, secret, "nonce")), "MISSING_PARAMETER"
        )
        assert_failure(
            await post_signed(running, app_id, secret, nonce="n" * 65), "INVALID_PARAMETER"
        )

        # the same signed request replayed concurrently: exactly one is accepted
        answers = await asyncio.gather(
            *(post_signed(running, app_id, secret, nonce="race-1") for _ in range(12))
        )
        assert sum(answer["result_code"] == 200 for answer in answers) == 1, answers
        assert {answer.get("sub_code") for answer in answers} == {None, "NONCE_REUSED"}

        # a replayed order creation changes nothing
        def order(sn: str) -> dict[str, Any]:
            info = running.info
            return {"merchant_order_sn": sn, "sub_openid": info["demo_openid"],
                    "total_fee": "0.01", "store_id": info["store_id"]}  # fmt: skip

        first = await running.call(MINA, order("strict-1"), nonce="order-nonce-1")
        assert first["result_code"] == 200, first
        assert_failure(
            await running.call(MINA, order("strict-2"), nonce="order-nonce-1"), "NONCE_REUSED"
        )
        query = await running.call("openapi.payment.order.query", {"merchant_order_sn": "strict-2"})
        assert query["sub_code"] == "ORDER_NOT_FOUND"

        assert await running.runtime.merchants.set_strict_nonce(app_id, False)
        assert (await post_signed(running, app_id, secret, nonce="ilay1380"))["result_code"] == 200


async def test_nonce_window_and_purge(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        assert await db.write(lambda: remember_nonce("app1", "n", 1_000))
        assert not await db.write(lambda: remember_nonce("app1", "n", 2_000))
        assert await db.write(lambda: remember_nonce("app2", "n", 2_000))  # per app
        # older than 24 h (not yet purged): accepted again and its clock restarts
        later = 1_000 + NONCE_WINDOW_MS
        assert await db.write(lambda: remember_nonce("app1", "n", later))
        assert not await db.write(lambda: remember_nonce("app1", "n", later + 1))
        assert await db.write(lambda: purge_nonces(2_000 + NONCE_WINDOW_MS)) == 1  # app2's only
        assert await db.write(lambda: purge_nonces(later + NONCE_WINDOW_MS)) == 1
        assert await db.write(lambda: remember_nonce("app1", "n", later + 2))
    finally:
        await db.close()
