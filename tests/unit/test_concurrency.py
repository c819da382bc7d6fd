"""The client-side token bucket, driven with an explicit clock."""

from __future__ import annotations

import pytest

from pipeline.concurrency import RateLimiter


def waits(limiter: RateLimiter, now: float, calls: int) -> list[float]:
    return [limiter.reserve(now) for _ in range(calls)]


def test_a_burst_then_one_call_every_interval() -> None:
    limiter = RateLimiter(rate=10)  # burst defaults to the rate
    assert waits(limiter, 0.0, 10) == [0.0] * 10
    assert waits(limiter, 0.0, 5) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


def test_an_explicit_burst() -> None:
    limiter = RateLimiter(rate=4, burst=2)
    assert waits(limiter, 100.0, 5) == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75])


def test_no_burst_spaces_every_call() -> None:
    limiter = RateLimiter(rate=2, burst=1)
    assert waits(limiter, 0.0, 4) == pytest.approx([0.0, 0.5, 1.0, 1.5])


def test_a_burst_below_one_still_admits_one_call() -> None:
    limiter = RateLimiter(rate=2, burst=0.2)
    assert waits(limiter, 0.0, 2) == pytest.approx([0.0, 0.5])


def test_calls_spread_over_time_do_not_wait() -> None:
    limiter = RateLimiter(rate=5, burst=1)
    assert [limiter.reserve(t * 0.2) for t in range(10)] == [0.0] * 10


def test_the_bucket_refills_while_idle() -> None:
    limiter = RateLimiter(rate=10, burst=3)
    waits(limiter, 0.0, 6)  # the burst and three waiting calls
    assert limiter.reserve(10.0) == 0.0  # long idle: a fresh burst
    assert waits(limiter, 10.0, 3) == pytest.approx([0.0, 0.0, 0.1])


def test_the_long_run_rate_is_the_configured_rate() -> None:
    limiter = RateLimiter(rate=50, burst=10)
    last = waits(limiter, 0.0, 1_010)[-1]
    # 1,010 calls at t=0: 10 go at once, the other 1,000 one every 20 ms.
    assert last == pytest.approx(1_000 / 50)


@pytest.mark.parametrize("rate", [0, -1.0])
def test_the_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimiter(rate)
