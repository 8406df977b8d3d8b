"""A server process settles its heap after start-up: what start-up built is frozen out of the
collector's walks and young collections are rarer (jubao.heap, docs/benchmarks.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from jubao import heap


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_settle_freezes_start_up_and_raises_the_young_threshold(restored: None) -> None:
    assert gc.get_threshold() != heap.THRESHOLDS
    heap.settle()
    assert gc.get_threshold() == heap.THRESHOLDS
    assert gc.get_freeze_count() > 1000  # the modules and objects imported so far


def test_the_sandbox_and_simulator_settle_before_serving(restored: None) -> None:
    from jubao.cli.servers import _serve_forever
    from jubao.config import Settings

    serving = _serve_forever(lambda *_: None, Settings(port=0))
    serving.close()  # built, not run
    assert gc.get_threshold() == heap.THRESHOLDS
