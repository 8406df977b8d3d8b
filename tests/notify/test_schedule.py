"""The retry policy: 1 + len(schedule) attempts, every configured wait used once, in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jubao.config import WECHAT_NOTIFY_SCHEDULE, Settings
from jubao.notify.schedule import RetryPolicy


def test_the_default_is_wechats_schedule_over_24_hours_and_4_minutes() -> None:
    policy = RetryPolicy(Settings().notify_schedule)
    assert policy.max_attempts == 16  # the first delivery, then 15 retries
    assert [policy.delay_ms(n) for n in (1, 2, 3, 4)] == [15_000, 15_000, 30_000, 180_000]
    assert policy.delay_ms(15) == 6 * 3600 * 1000
    assert policy.delay_ms(16) is None
    assert policy.total_span_ms() == (24 * 60 + 4) * 60 * 1000


def test_next_attempt_at_adds_the_delay_or_gives_up() -> None:
    policy = RetryPolicy((0.05, 2))
    assert policy.next_attempt_at(1, 1_000) == 1_050
    assert policy.next_attempt_at(2, 1_000) == 3_000
    assert policy.next_attempt_at(3, 1_000) is None
    with pytest.raises(ValueError, match="starting at 1"):
        policy.delay_ms(0)


def test_an_empty_schedule_means_one_attempt() -> None:
    assert RetryPolicy(()).max_attempts == 1
    assert RetryPolicy(()).delay_ms(1) is None


@given(st.lists(st.floats(min_value=0, max_value=86_400), max_size=30))
def test_every_wait_is_used_once_in_order_then_give_up(waits: list[float]) -> None:
    policy = RetryPolicy(tuple(waits))
    delays = [policy.delay_ms(n) for n in range(1, policy.max_attempts + 1)]
    assert delays[-1] is None
    assert delays[:-1] == [round(wait * 1000) for wait in waits]
    assert sum(d for d in delays if d is not None) == policy.total_span_ms()


def test_the_settings_default_is_the_documented_constant() -> None:
    assert Settings().notify_schedule == WECHAT_NOTIFY_SCHEDULE
    assert len(WECHAT_NOTIFY_SCHEDULE) == 15
