"""``china_text`` (a second's text made once) writes what strftime writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from jubao.clock import CHINA, china_text, from_ms
from jubao.ids import new_serial

FORMATS = ["%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S"]


@given(
    ms=st.integers(min_value=0, max_value=4_102_444_800_000),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
    fmt=st.sampled_from(FORMATS),
)
def test_as_strftime_writes_it(ms: int, offset: int, fmt: str) -> None:
    moment = from_ms(ms).astimezone(timezone(timedelta(minutes=offset)))
    assert china_text(ms // 1000, fmt) == moment.astimezone(CHINA).strftime(fmt)


def test_an_order_serial_starts_with_beijing_time() -> None:
    ms = int(datetime(2026, 11, 30, 23, 59, 59, 999_000, tzinfo=UTC).timestamp() * 1000)
    assert new_serial(ms).startswith("20261201075959")
