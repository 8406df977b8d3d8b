"""Where the channels' RSA signatures run: on worker threads (the sandbox, and any channel built
without saying) or inline on the event loop (``jubao serve``, ``JUBAO_RSA_THREADS`` off)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from jubao.channels import offload
from jubao.channels.wechatpay import WechatPayChannel, signing
from jubao.config import Settings
from jubao.kinds import Scene
from jubao.runtime import production_channel
from jubao.sandbox import build_standalone_simulator
from tests.channels.test_wechatpay_client import always, prepay_request
from tests.channels.wechatpay_fake import FakeWechat


@pytest.fixture(scope="module")
def wechat() -> FakeWechat:
    return FakeWechat.create()


@pytest.fixture
def signing_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    threads: list[int] = []
    real = signing.sign

    def recording(key, message):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        return real(key, message)

    monkeypatch.setattr(signing, "sign", recording)
    return threads


async def test_offload_runs_on_a_worker_thread_or_inline() -> None:
    loop_thread = threading.get_ident()
    assert await offload.offload(True)(threading.get_ident) != loop_thread
    assert await offload.offload(False)(threading.get_ident) == loop_thread
    assert offload.offload(True) is asyncio.to_thread


@pytest.mark.parametrize("threads", [True, False])
async def test_the_wallet_order_signs_where_configured(
    wechat: FakeWechat, signing_threads: list[int], threads: bool
) -> None:
    channel = wechat.channel(
        always(wechat.answer(200, {"prepay_id": "wx2611252300abc"})), rsa_threads=threads
    )
    request = prepay_request()
    assert request.scene == Scene.MINA
    package = await channel.create_payment(request)
    assert getattr(package, "prepay_id", None) == "wx2611252300abc"
    await channel.aclose()
    assert len(signing_threads) == 2  # the request's Authorization and the payer's paySign
    on_loop = [ident == threading.get_ident() for ident in signing_threads]
    assert on_loop == [not threads, not threads]


async def test_serve_signs_inline_unless_told(tmp_path: Path) -> None:
    assert FakeWechat.create().config().rsa_threads is True  # a channel built alone: threads
    data_dir = tmp_path / "sim"
    app = await build_standalone_simulator(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path}/db.sqlite3")
    )
    async with app.router.lifespan_context(app):
        pass
    for env, threads in (({}, False), ({"JUBAO_RSA_THREADS": "1"}, True)):
        settings = Settings.from_env(env=env, env_file=str(data_dir / "channel.env"))
        assert settings.rsa_threads is threads
        channel = production_channel(settings)
        assert isinstance(channel, WechatPayChannel)
        assert channel.config.rsa_threads is threads
        await channel.aclose()
