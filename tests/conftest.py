from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.databases import fresh_database

# Property tests check what holds, not how fast inputs come: on a slow or busy machine (CI runs on
# the submitting machine, shared with its services) Hypothesis's timing checks failed tests that
# were right. Speed is measured by `make bench`.
settings.register_profile("jubao", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jubao")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """The collector's thresholds and freeze as they were: ``heap.settle`` (which every server's
    start calls) changes them for the whole process."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)
