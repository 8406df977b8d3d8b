"""A server process settles its heap after start-up: what start-up built is frozen out of the
collector's walks and young collections are rarer (jubao.heap, docs/benchmarks.md). The sandbox,
the simulator, each `jubao serve` process and `jubao worker` do."""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import Message
from tests.alipay.test_wiring import alipay_settings  # production channels, offline
from tests.support.cli import jubao

from jubao import heap


def test_settle_freezes_start_up_and_raises_the_young_threshold(restored_gc: None) -> None:
    assert gc.get_threshold() != heap.THRESHOLDS
    heap.settle()
    assert gc.get_threshold() == heap.THRESHOLDS
    assert gc.get_freeze_count() > 1000  # the modules and objects imported so far


def test_the_sandbox_and_simulator_settle_before_serving(restored_gc: None) -> None:
    from jubao.cli.servers import _serve_forever
    from jubao.config import Settings

    serving = _serve_forever(lambda *_: None, Settings(port=0))
    serving.close()  # built, not run
    assert gc.get_threshold() == heap.THRESHOLDS


async def test_serve_settles_once_its_app_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``jubao serve``'s processes build their app in uvicorn's lifespan (``ServedApp``)."""
    from jubao.config import Settings
    from jubao.web.lane import lane_paths_of
    from jubao.web.served import ServedApp

    events: list[str] = []
    monkeypatch.setattr(heap, "settle", lambda: events.append("settled"))  # tested above
    configured = Settings.from_env(
        env=alipay_settings(tmp_path),
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "lifespan.startup"})

    async def send(message: Message) -> None:
        events.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            inbox.put_nowait({"type": "lifespan.shutdown"})

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    served = ServedApp(configured)
    assert lane_paths_of(served) == frozenset()  # nothing to take the lane to before it is built
    await served(scope, inbox.get, send)
    assert events == ["settled", "lifespan.startup.complete", "lifespan.shutdown.complete"]
    # once built, serve's connections take the gateway's lane as the sandbox's do (web/lane.py)
    assert lane_paths_of(served) == {b"/gateway", b"/gateway/agent"}


@pytest.fixture
def signals_restored() -> Iterator[None]:
    """The worker's loop takes SIGTERM and SIGINT; before it does, and after, a SIGTERM fails the
    test instead of killing the test process."""

    def uncaught(signum: int, frame: object) -> None:
        raise SystemExit("SIGTERM reached no event loop's handler")

    before = signal.getsignal(signal.SIGINT), signal.signal(signal.SIGTERM, uncaught)
    yield
    signal.signal(signal.SIGINT, before[0])
    signal.signal(signal.SIGTERM, before[1])


def test_the_worker_settles_once_started(
    signals_restored: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settled: list[bool] = []

    def settle_then_stop() -> None:
        settled.append(True)
        signal.raise_signal(signal.SIGTERM)  # as an operator stops it

    monkeypatch.setattr(heap, "settle", settle_then_stop)
    env = {**alipay_settings(tmp_path), "JUBAO_ALLOW_PLAINTEXT_SECRETS": "true"}
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    # a worker that never settles is stopped all the same: the test fails instead of hanging
    deadline = threading.Timer(20, signal.raise_signal, (signal.SIGTERM,))
    deadline.start()
    try:
        result = jubao("worker", "--data-dir", str(tmp_path), "--database-url", database, env=env)
    finally:
        deadline.cancel()
    assert result.exit_code == 0, result.output
    assert settled == [True]
    assert "jubao worker running" in result.output
