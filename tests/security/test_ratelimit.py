"""The token bucket: burst, refill, independence of keys, off when the rate is 0."""

from __future__ import annotations

from jubao.security.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_then_refilled() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 5, clock=clock)
    assert [limiter.allow("a") for _ in range(6)] == [True] * 5 + [False]
    assert 0.09 < limiter.retry_after("a") <= 0.1
    clock.now += 0.1  # one token at 10/s
    assert limiter.allow("a")
    assert not limiter.allow("a")
    clock.now += 100  # refills to the burst, never beyond
    assert sum(limiter.allow("a") for _ in range(10)) == 5


def test_one_key_exhausted_leaves_another_untouched() -> None:
    limiter = RateLimiter(1, 2, clock=FakeClock())
    for _ in range(50):
        limiter.allow("flood")
    assert not limiter.allow("flood")
    assert limiter.allow("quiet") and limiter.allow("quiet")


def test_zero_rate_is_off() -> None:
    limiter = RateLimiter(0, 0, clock=FakeClock())
    assert not limiter.enabled
    assert all(limiter.allow("a") for _ in range(10_000))


def test_burst_defaults_to_the_rate() -> None:
    limiter = RateLimiter(3, 0, clock=FakeClock())
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]


def test_many_keys_do_not_grow_without_bound() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1000, 1, clock=clock)
    for index in range(25_000):
        clock.now += 0.01  # each earlier bucket is full (idle) again
        assert limiter.allow(f"k{index}")
    assert len(limiter._buckets) <= 10_000
