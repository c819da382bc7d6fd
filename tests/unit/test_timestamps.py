"""Log event timestamps CloudWatch will accept: the scan time when it can, else now."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import limits
from pipeline.timestamps import log_timestamp

MINUTE = 60 * 1000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("event_ms", "retention_days", "expected"),
    [
        pytest.param(NOW, None, NOW, id="now"),
        pytest.param(NOW - 5 * MINUTE, None, NOW - 5 * MINUTE, id="minutes-old"),
        pytest.param(NOW - 13 * DAY, None, NOW - 13 * DAY, id="13-days-old"),
        pytest.param(NOW + 30 * MINUTE, None, NOW + 30 * MINUTE, id="30-min-ahead"),
        pytest.param(NOW - 15 * DAY, None, NOW, id="over-14-days-old"),
        pytest.param(NOW - 400 * DAY, None, NOW, id="backfill"),
        pytest.param(NOW + 3 * HOUR, None, NOW, id="over-2h-ahead"),
        pytest.param(NOW - 6 * DAY, 7, NOW - 6 * DAY, id="inside-retention"),
        pytest.param(NOW - 8 * DAY, 7, NOW, id="older-than-retention"),
        pytest.param(NOW - 2 * DAY, 1, NOW, id="older-than-1-day-retention"),
        pytest.param(NOW - 20 * DAY, 30, NOW, id="14-days-caps-long-retention"),
    ],
)
def test_log_timestamp(event_ms: int, retention_days: int | None, expected: int) -> None:
    assert log_timestamp(event_ms, NOW, retention_days) == expected


@settings(max_examples=500, deadline=None)
@given(
    event_ms=st.integers(NOW - 500 * DAY, NOW + 30 * DAY),
    retention=st.one_of(st.none(), st.sampled_from(sorted(limits.VALID_RETENTION_DAYS))),
)
def test_the_chosen_timestamp_is_always_accepted(event_ms: int, retention: int | None) -> None:
    chosen = log_timestamp(event_ms, NOW, retention)
    max_age = min(limits.MAX_AGE_MS, (retention or 10_000) * DAY)
    assert chosen in (event_ms, NOW)
    assert NOW - max_age < chosen <= NOW + limits.MAX_FUTURE_MS


@settings(max_examples=500, deadline=None)
@given(
    event_ms=st.integers(NOW - 500 * DAY, NOW + 30 * DAY),
    fallback_ms=st.integers(NOW - 30 * DAY, NOW + DAY),
    retention=st.one_of(st.none(), st.sampled_from(sorted(limits.VALID_RETENTION_DAYS))),
)
def test_a_rejected_time_falls_back_to_the_sent_time_when_that_is_accepted(
    event_ms: int, fallback_ms: int, retention: int | None
) -> None:
    plain = log_timestamp(event_ms, NOW, retention)
    chosen = log_timestamp(event_ms, NOW, retention, fallback_ms)
    if plain == event_ms:  # the event's own time is accepted: the fallback plays no part
        assert chosen == event_ms
    else:  # else the sent time if it is accepted itself, else now
        assert chosen == (
            fallback_ms if log_timestamp(fallback_ms, NOW, retention) == fallback_ms else NOW
        )
