from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.alipay.support import World, world


@pytest.fixture
async def alipay() -> AsyncIterator[World]:
    async with world() as running:
        yield running
