"""The PutLogEvents packer: lossless, order-keeping, every batch legal, fewest batches."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import limits
from pipeline.batching import AWS_LIMITS, Limits, LogEvent, batch_is_legal, minimum_batches, pack

OVERHEAD = 26  # PutLogEvents counts each event as its UTF-8 message bytes plus 26
DAY_MS = 24 * 60 * 60 * 1000


def event(timestamp: int, message: str) -> LogEvent:
    return LogEvent(timestamp, message, len(message.encode("utf-8")))


def legal(batch: list[LogEvent], lim: Limits) -> bool:
    """The AWS rules, written out independently of the code under test."""
    stamps = [e.timestamp for e in batch]
    return (
        1 <= len(batch) <= lim.max_events
        and sum(len(e.message.encode("utf-8")) + OVERHEAD for e in batch) <= lim.max_bytes
        and stamps == sorted(stamps)
        and stamps[-1] - stamps[0] <= lim.max_span_ms
    )


def fewest_batches(events: list[LogEvent], lim: Limits) -> int:
    """Brute force over every order-preserving split of ``events``."""
    n = len(events)
    if n == 0:
        return 0
    best = n + 1
    for cuts in itertools.product((False, True), repeat=n - 1):
        batches, current = [], [events[0]]
        for cut, e in zip(cuts, events[1:], strict=True):
            if cut:
                batches.append(current)
                current = []
            current.append(e)
        batches.append(current)
        if all(legal(b, lim) for b in batches):
            best = min(best, len(batches))
    return best


def check_packing(events: list[LogEvent], lim: Limits) -> list[list[LogEvent]]:
    batches = list(pack(events, lim))
    assert [e for b in batches for e in b] == events  # nothing lost, added or reordered
    for b in batches:
        assert legal(b, lim)
        assert batch_is_legal(b, lim)
    assert len(batches) >= minimum_batches(events, lim)
    return batches


MULTIBYTE = 'aZ9 "\\\n\u00e9\u20ac\u65e5\U0001f600'


@st.composite
def small_cases(draw: st.DrawFn, max_len: int) -> tuple[list[LogEvent], Limits]:
    lim = Limits(
        max_bytes=draw(st.integers(OVERHEAD, 160)),
        max_events=draw(st.integers(1, 4)),
        max_span_ms=draw(st.integers(0, 40)),
    )
    room = lim.max_bytes - OVERHEAD  # the largest message that fits a batch alone
    message = st.one_of(
        st.text(alphabet="abc", max_size=min(room, 10)),
        st.text(alphabet=MULTIBYTE, max_size=min(room // 4, 4)),  # at most 4 bytes a character
        st.text(alphabet="abc", max_size=room),
        st.just("x" * room),
    )
    messages = draw(st.lists(message, max_size=max_len))
    # Gaps of up to 25 ms against spans of up to 40 ms: batches often hit the span limit.
    gaps = draw(st.lists(st.integers(0, 25), min_size=len(messages), max_size=len(messages)))
    stamps = list(itertools.accumulate(gaps))
    return [event(t, m) for t, m in zip(stamps, messages, strict=True)], lim


@settings(max_examples=300, deadline=None)
@given(small_cases(max_len=8))
def test_packing_is_lossless_legal_and_minimal(case: tuple[list[LogEvent], Limits]) -> None:
    events, lim = case
    batches = check_packing(events, lim)
    assert len(batches) == fewest_batches(events, lim)


@settings(max_examples=100, deadline=None)
@given(small_cases(max_len=60))
def test_longer_inputs_are_lossless_and_legal(case: tuple[list[LogEvent], Limits]) -> None:
    check_packing(*case)


def test_no_events_no_batches() -> None:
    assert list(pack([])) == []
    assert minimum_batches([]) == 0


def test_twelve_thousand_one_kilobyte_findings_in_one_stream() -> None:
    events = [event(1_700_000_000_000 + i, f"{i:06d}" + "x" * 994) for i in range(12_000)]
    batches = check_packing(events, AWS_LIMITS)
    per_batch = limits.PUT_LOG_EVENTS_MAX_BYTES // (1000 + OVERHEAD)  # 1,022 events fill a batch
    assert len(batches) == -(-12_000 // per_batch) == 12
    assert all(len(b) <= 10_000 for b in batches)
    assert all(sum(e.size + OVERHEAD for e in b) <= 1_048_576 for b in batches)


def test_the_event_count_limit_splits_many_small_events() -> None:
    events = [event(1_000, "tiny") for _ in range(12_000)]
    batches = check_packing(events, AWS_LIMITS)
    assert [len(b) for b in batches] == [10_000, 2_000]


def test_exactly_ten_thousand_events_fit_one_batch() -> None:
    assert len(list(pack([event(0, "") for _ in range(10_000)]))) == 1
    assert len(list(pack([event(0, "") for _ in range(10_001)]))) == 2


def test_an_event_exactly_at_the_size_limit_fits_alone() -> None:
    biggest = "m" * limits.MAX_MESSAGE_BYTES
    assert len(biggest) + OVERHEAD == limits.PUT_LOG_EVENTS_MAX_BYTES
    batches = list(pack([event(1, "a"), event(2, biggest), event(3, "b")]))
    assert [len(b) for b in batches] == [1, 1, 1]
    assert all(batch_is_legal(b) for b in batches)


def test_a_batch_filled_to_the_exact_byte() -> None:
    lim = Limits(max_bytes=100, max_events=10, max_span_ms=10)
    # 24 + 26 = 50 bytes each: two fill the batch exactly; one byte more needs a second batch.
    assert len(list(pack([event(0, "a" * 24), event(0, "b" * 24)], lim))) == 1
    assert len(list(pack([event(0, "a" * 24), event(0, "b" * 25)], lim))) == 2


def test_the_24_hour_span_limit_is_inclusive() -> None:
    assert len(list(pack([event(0, "a"), event(DAY_MS, "b")]))) == 1
    assert len(list(pack([event(0, "a"), event(DAY_MS + 1, "b")]))) == 2


def test_an_oversize_event_is_refused() -> None:
    too_big = event(0, "m" * (limits.MAX_MESSAGE_BYTES + 1))
    with pytest.raises(ValueError, match=r"log event of 1048551 bytes cannot fit any batch"):
        list(pack([event(0, "ok"), too_big]))


def test_out_of_order_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match=r"log events must be in chronological order"):
        list(pack([event(5, "a"), event(6, "b"), event(4, "c")]))


def test_equal_timestamps_are_in_order() -> None:
    assert len(list(pack([event(5, "a"), event(5, "b")]))) == 1


def test_size_is_counted_in_utf8_bytes_not_characters() -> None:
    message = "\u20ac" * 10  # 10 characters, 30 bytes
    assert event(0, message).size == 30
    lim = Limits(max_bytes=100, max_events=10, max_span_ms=10)
    # By characters two would fit (2 * 36 = 72); by bytes each costs 56, so one a batch.
    batches = check_packing([event(0, message) for _ in range(3)], lim)
    assert [len(b) for b in batches] == [1, 1, 1]


def test_batch_is_legal_rejects_each_broken_rule() -> None:
    lim = Limits(max_bytes=100, max_events=2, max_span_ms=10)
    assert batch_is_legal([event(0, "a"), event(10, "b")], lim)
    assert not batch_is_legal([], lim)
    assert not batch_is_legal([event(0, "a")] * 3, lim)  # count
    assert not batch_is_legal([event(0, "a" * 75)], lim)  # bytes: 75 + 26 > 100
    assert not batch_is_legal([event(5, "a"), event(4, "b")], lim)  # order
    assert not batch_is_legal([event(0, "a"), event(11, "b")], lim)  # span


def test_minimum_batches_is_the_byte_and_count_lower_bound() -> None:
    lim = Limits(max_bytes=100, max_events=3, max_span_ms=10)
    assert minimum_batches([event(0, "a" * 24)] * 4, lim) == 2  # 4 * 50 bytes
    assert minimum_batches([event(0, "")] * 7, lim) == 3  # 7 events, 3 a batch
