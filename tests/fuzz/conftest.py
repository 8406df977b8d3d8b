from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.harness import FuzzSandbox, Portal, fuzz_sandbox


@pytest.fixture(scope="session")
def portal() -> Iterator[Portal]:
    loop_thread = Portal()
    try:
        yield loop_thread
    finally:
        loop_thread.close()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def fuzz_gateway(
    request: pytest.FixtureRequest, portal: Portal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzSandbox]:
    """One seeded sandbox per database for the whole session (see ``harness``)."""
    context = fuzz_sandbox(request.param, tmp_path_factory.mktemp(f"fuzz-{request.param}"))
    sandbox = portal.run(context.__aenter__())
    try:
        yield sandbox
    finally:
        portal.run(context.__aexit__(None, None, None))
