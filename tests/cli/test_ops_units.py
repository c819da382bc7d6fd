"""The pure parts of the CLI's logic: rate limiting, time parsing, matching, event shapes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline import events, layout
from pipeline.concurrency import BlockingRateLimiter
from pipeline.events import ScanKind, decode
from pipeline.ops import backfill, hits
from pipeline.ops.deadmessages import DeadMessage
from pipeline.ops.redrive import RedriveFilter
from pipeline.ops.search import filter_pattern
from pipeline.ops.timeparse import format_age, parse_duration, parse_since

DIGEST = "sha256:" + "ab" * 32
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    limiter = BlockingRateLimiter(4, clock=clock, sleep=clock.sleep)

    for _ in range(3):
        limiter.acquire()
    limiter.acquire(2)  # a batch of two takes two slots
    limiter.acquire()

    assert clock.slept == [0.25, 0.25, 0.25, 0.5]


def test_rate_limiter_burst_and_no_limit() -> None:
    clock = FakeClock()
    burst = BlockingRateLimiter(10, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        burst.acquire()
    assert clock.slept == [0.1]

    unlimited = BlockingRateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        unlimited.acquire()
    assert clock.slept == [0.1]
    with pytest.raises(ValueError):
        BlockingRateLimiter(0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_since_accepts_durations_and_iso_times() -> None:
    assert parse_since("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_since("2024-05-01", now=NOW) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("2024-05-01T10:00Z", now=NOW) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a duration or ISO 8601 time"):
        parse_since("yesterday", now=NOW)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5 minutes")


def test_format_age() -> None:
    assert [format_age(s) for s in (5, 125, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "5s",
        "2m",
        "3h05m",
        "2d04h",
    ]


def _message(**overrides: Any) -> DeadMessage:
    from pipeline.deadletter import DeadLetter

    letter = DeadLetter(
        code=overrides.pop("code", "throttled"),
        message="m",
        retryable=overrides.pop("retryable", True),
        receive_count=5,
        source_message_id="s",
        failed_at=overrides.pop("failed_at", "2025-06-01T11:00:00Z"),
    )
    values: dict[str, Any] = {
        "message_id": "1",
        "receipt_handle": "r",
        "body": "{}",
        "attributes": {},
        "letter": letter,
        "sent_at": NOW,
        "dlq_receive_count": 1,
        "repository": "team/api",
        "image_digest": DIGEST,
        "image_tag": "v1",
    }
    values.update(overrides)
    return DeadMessage(**values)


def test_redrive_filter() -> None:
    message = _message()  # failed one hour before NOW

    assert RedriveFilter().matches(message, NOW)
    assert RedriveFilter(reasons=frozenset({"throttled"})).matches(message, NOW)
    assert not RedriveFilter(reasons=frozenset({"image_not_found"})).matches(message, NOW)
    assert RedriveFilter(repositories=("team/*",)).matches(message, NOW)
    assert not RedriveFilter(repositories=("web/*", "team")).matches(message, NOW)
    assert RedriveFilter(min_age=timedelta(minutes=30)).matches(message, NOW)
    assert not RedriveFilter(min_age=timedelta(hours=2)).matches(message, NOW)
    assert not RedriveFilter(max_age=timedelta(minutes=30)).matches(message, NOW)
    assert not RedriveFilter(retryable_only=True).matches(_message(retryable=False), NOW)
    unknown = _message(letter=None, repository=None)
    assert unknown.reason == "unknown" and unknown.failed_at == NOW
    assert RedriveFilter(reasons=frozenset({"unknown"})).matches(unknown, NOW)
    assert not RedriveFilter(repositories=("*",), retryable_only=True).matches(unknown, NOW)


def test_vulnerability_ids() -> None:
    assert hits.normalize_id(" cve-2024-3094 ") == "CVE-2024-3094"
    assert hits.normalize_id("GHSA-jfh8-c2jp-5v3q") == "GHSA-jfh8-c2jp-5v3q"
    for bad in ("", "x", 'CVE-1" || true', "a b", "*"):
        with pytest.raises(ValueError):
            hits.normalize_id(bad)
    assert filter_pattern("CVE-2024-3094") == (
        '{ ($.name = "CVE-2024-3094") || '
        '($.packageVulnerabilityDetails.vulnerabilityId = "CVE-2024-3094") }'
    )


@pytest.mark.parametrize("kind", ["basic", "enhanced"])
def test_backfill_events_decode_as_scan_events(kind: ScanKind) -> None:
    completed = datetime(2025, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)
    event = events.scan_complete_event(
        kind=kind,
        account="123456789012",
        region="eu-west-1",
        repository="team/app",
        repository_arn="arn:aws:ecr:eu-west-1:123456789012:repository/team/app",
        digest=DIGEST,
        tags=["v1", "latest"],
        completed_at=completed,
        severity_counts={"HIGH": 2, "LOW": 1},
    )

    scan = decode(json.dumps(event))

    assert (scan.kind, scan.repository, scan.digest, scan.tags) == (
        kind,
        "team/app",
        DIGEST,
        ("v1", "latest"),
    )
    assert (scan.account, scan.region, scan.time) == (
        "123456789012",
        "eu-west-1",
        "2025-05-01T08:30:15Z",
    )
    assert scan.expects_findings
    if kind == "enhanced":
        assert event["detail"]["finding-severity-counts"]["TOTAL"] == 3


@pytest.mark.parametrize("tag", ["v1", "a-b-c", "x" * 600])
def test_summary_stream_digest_is_recognised(tag: str) -> None:
    name = layout.stream_name(layout.SUMMARY, tag, DIGEST, "2025-05-01T08:30:15Z")

    parsed = layout.parse_stream_name(name)

    assert parsed is not None and (parsed.kind, parsed.digest) == (layout.SUMMARY, DIGEST)


def test_a_relogged_image_gets_an_event_time_after_the_samples_streams() -> None:
    completed = datetime(2025, 5, 1, 8, 30, 15, 400000, tzinfo=UTC)
    candidate = backfill.Candidate(
        account="123456789012",
        region="eu-west-1",
        repository="team/app",
        repository_arn="arn:aws:ecr:eu-west-1:123456789012:repository/team/app",
        digest=DIGEST,
        tags=("v1",),
        scan_status="COMPLETE",
        scan_completed_at=completed,
        severity_counts={"HIGH": 1},
        kind="basic",
        skip_reason=None,
    )
    assert events.event_time(candidate.event_time) == "2025-05-01T08:30:15Z"

    def relogged(*sample_times: str) -> str:
        with_sample = dataclasses.replace(candidate, sample_times=sample_times)
        return str(with_sample.event()["time"])

    assert relogged("2025-05-01T08:30:15Z") == "2025-05-01T08:30:16Z"  # same second as the scan
    assert relogged("2025-05-01T08:30:17Z", "2025-04-01T00:00:00Z") == "2025-05-01T08:30:18Z"
    assert relogged("2025-04-01T00:00:00Z") == "2025-05-01T08:30:15Z"  # an older scan's
    assert relogged("not a time") == "2025-05-01T08:30:15Z"


def test_counts_read_in_the_singular_and_the_plural() -> None:
    from pipeline.cli.output import plural

    assert plural(1, "image") == "1 image"
    assert plural(2, "image") == "2 images"
    assert plural(1, "repository", "repositories") == "1 repository"
    assert plural(1_500, "repository", "repositories") == "1,500 repositories"
