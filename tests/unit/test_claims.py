"""Claims on an image (pure): which stream is the newest claim, and when it lapses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import layout
from pipeline.claims import Holder, holder

SUMMARY = layout.stream_name("SUMMARY", "v1", "sha256:" + "ab" * 32, "2026-11-29T06:00:00Z")


def entry(name: str, created: int) -> dict[str, object]:
    return {"logStreamName": name, "creationTime": created, "storedBytes": 0}


def test_no_claim_stream_is_no_holder() -> None:
    assert holder(SUMMARY, []) is None
    other = layout.stream_name("HIGH", "v1", "sha256:" + "ab" * 32, "2026-11-29T06:00:00Z")
    assert holder(SUMMARY, [entry(other, 5)]) is None


def test_the_summary_stream_is_generation_zero() -> None:
    assert holder(SUMMARY, [entry(SUMMARY, 1_000)]) == Holder(0, 1_000)


def test_takeovers_count_up_and_the_newest_time_decides_freshness() -> None:
    streams = [
        entry(SUMMARY, 1_000),
        entry(layout.claim_stream(SUMMARY, 1), 5_000),
        entry(layout.claim_stream(SUMMARY, 2), 9_000),
    ]
    held = holder(SUMMARY, streams)
    assert held == Holder(2, 9_000)
    assert held.is_fresh(now_ms=9_500, timeout_ms=1_000)
    assert not held.is_fresh(now_ms=10_000, timeout_ms=1_000)


def test_claims_of_another_image_do_not_count() -> None:
    other = layout.stream_name("SUMMARY", "v1", "sha256:" + "cd" * 32, "2026-11-29T06:00:00Z")
    assert holder(SUMMARY, [entry(layout.claim_stream(other, 3), 1)]) is None
    assert layout.claim_generation(SUMMARY, layout.claim_stream_prefix(SUMMARY) + "10") is None
    assert layout.claim_generation(SUMMARY, layout.claim_stream_prefix(SUMMARY) + "0") is None


@settings(max_examples=200, deadline=None)
@given(
    tag=st.text(min_size=1, max_size=300),
    generations=st.lists(st.integers(1, layout.MAX_TAKEOVERS), unique=True, max_size=5),
    times=st.lists(st.integers(0, 10**13), min_size=6, max_size=6),
)
def test_the_holder_is_the_highest_generation_and_the_newest_time(
    tag: str, generations: list[int], times: list[int]
) -> None:
    summary = layout.stream_name("SUMMARY", tag, "sha256:" + "ef" * 32, "2026-11-29T06:00:00Z")
    streams = [entry(summary, times[0])]
    streams += [
        entry(layout.claim_stream(summary, g), times[i + 1]) for i, g in enumerate(generations)
    ]
    held = holder(summary, streams)
    assert held == Holder(max([0, *generations]), max(times[: len(generations) + 1]))
    for g in generations:
        name = layout.claim_stream(summary, g)
        assert len(name) <= len(summary) and layout.claim_generation(summary, name) == g
