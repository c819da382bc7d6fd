"""The burst's data set: realistic finding events, every one decodable, where each must land."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from bench import burst
from pipeline import layout
from pipeline.events import FindingEvent, decode
from pipeline.finding_time import parse_finding_time

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
PREFIX = "/aws/ecr/image-scan-findings/"


def _small(order: burst.Order = "shuffled", seed: int = 1) -> burst.Burst:
    return burst.build(
        300, images=60, repositories=12, batch_size=70, seed=seed, now=NOW, order=order
    )


def _decoded(data: burst.Burst) -> list[list[FindingEvent]]:
    batches = []
    for batch in data.batches:
        decoded = [decode(record["body"]) for record in batch]
        assert all(isinstance(f, FindingEvent) for f in decoded)
        batches.append([f for f in decoded if isinstance(f, FindingEvent)])
    return batches


def test_the_sizes_asked_for_in_batches_of_the_batch_size() -> None:
    data = _small()
    assert data.events == 300
    assert [len(b) for b in data.batches] == [70, 70, 70, 70, 20]
    assert data.describe().startswith("300 finding events for 60 images in 12 repositories")
    findings = [f for batch in _decoded(data) for f in batch]
    assert len({f.digest for f in findings}) == 60
    assert {f.repository for f in findings} == set(data.repositories)
    assert len({f.event_id for f in findings}) == 300  # no duplicate deliveries
    assert len({r["messageId"] for b in data.batches for r in b}) == 300


def test_records_are_shaped_as_the_event_source_mapping_delivers_them() -> None:
    record = _small().batches[0][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert orjson.loads(record["body"])["detail-type"] == "Inspector2 Finding"


def test_the_events_carry_the_documented_shape_and_its_traps() -> None:
    data = _small()
    raws = [orjson.loads(r["body"]) for b in data.batches for r in b]
    details = [raw["detail"] for raw in raws]
    assert all("vulnerabilityId" in d["packageVulnerabilityDetails"] for d in details)
    images = [d["resources"][0]["details"]["awsEcrContainerImage"] for d in details]
    assert all("/" in image["repositoryName"] for image in images)
    assert any(image["imageTags"] == [] for image in images)  # untagged images
    assert any(d["resources"][0]["region"] == "N/A" for d in details)
    # The three formats of the times inside detail, all read back by the decoder.
    shapes = Counter(_time_shape(d["updatedAt"]) for d in details)
    assert set(shapes) == {"java", "us", "iso"}
    assert all(parse_finding_time(d["updatedAt"]) > 0 for d in details)
    statuses = Counter(d["status"] for d in details)
    assert statuses["ACTIVE"] > statuses["CLOSED"] > 0


def _time_shape(text: str) -> str:
    if " UTC " in text:
        return "java"
    return "iso" if text[:4].isdigit() else "us"


def test_an_images_later_events_change_its_own_findings() -> None:
    findings = [f for batch in _decoded(_small("by-image")) for f in batch]
    by_arn: dict[str, list[FindingEvent]] = {}
    for f in findings:
        by_arn.setdefault(f.finding_arn, []).append(f)
    changed = [events for events in by_arn.values() if len(events) > 1]
    assert changed
    for events in changed:
        assert len({(f.repository, f.digest) for f in events}) == 1
        assert events[0].updated_at_ms < events[-1].updated_at_ms


def test_the_same_arguments_give_the_same_data() -> None:
    assert _small().batches == _small().batches
    assert _small(seed=2).batches != _small().batches


def test_by_image_keeps_each_images_events_together() -> None:
    digests = [f.digest for batch in _decoded(_small("by-image")) for f in batch]
    runs = [d for i, d in enumerate(digests) if i == 0 or digests[i - 1] != d]
    assert len(runs) == len(set(digests)) == 60
    shuffled = [f.digest for batch in _decoded(_small()) for f in batch]
    assert sorted(shuffled) == sorted(digests)  # the same events, in another order
    assert len([d for i, d in enumerate(shuffled) if i == 0 or shuffled[i - 1] != d]) > 60


def test_expected_streams_name_each_events_group_and_day_stream() -> None:
    data = _small()
    expected = data.expected_streams(PREFIX, NOW_MS)
    assert [sum(e.values()) for e in expected] == [len(b) for b in data.batches]
    for batch, wanted in zip(_decoded(data), expected, strict=True):
        found = Counter(
            (
                layout.log_group_name(PREFIX, f.repository),
                layout.finding_events_stream(f.timestamp_ms),
            )
            for f in batch
        )
        assert found == wanted
    assert burst.repository_days(expected) == 12  # all of it within one UTC day


def test_a_burst_over_midnight_counts_two_days_for_a_repository() -> None:
    midnight = datetime(2026, 3, 11, 0, 4, tzinfo=UTC)  # the burst's 10 minutes straddle it
    data = burst.build(400, images=40, repositories=2, batch_size=400, seed=1, now=midnight)
    expected = data.expected_streams(PREFIX, int(midnight.timestamp() * 1000))
    days = {stream for _, stream in expected[0]}
    assert days == {"FINDING-EVENTS-2026-03-10", "FINDING-EVENTS-2026-03-11"}
    assert burst.repository_days(expected) == 4


def test_every_repository_gets_an_image() -> None:
    data = burst.build(20, images=10, repositories=10, batch_size=5, seed=4, now=NOW)
    details = [orjson.loads(r["body"])["detail"] for b in data.batches for r in b]
    images = [d["resources"][0]["details"]["awsEcrContainerImage"] for d in details]
    assert {i["repositoryName"] for i in images} == set(data.repositories)
    assert len({i["imageHash"] for i in images}) == 10  # one image each
    assert len(set(burst.repository_names(200))) == 200


@pytest.mark.parametrize(
    ("events", "images", "repositories", "batch"),
    [(10, 20, 5, 5), (10, 5, 6, 5), (10, 5, 0, 5), (10, 5, 5, 0)],
)
def test_impossible_shapes_are_refused(
    events: int, images: int, repositories: int, batch: int
) -> None:
    with pytest.raises(ValueError, match="repositories <= images <= events"):
        burst.build(
            events, images=images, repositories=repositories, batch_size=batch, seed=1, now=NOW
        )


def test_notable_images_are_those_of_a_batch_with_an_active_event_worth_it() -> None:
    data = _small()
    for batch, count in zip(
        _decoded(data), data.notable_images(lambda s: s == "CRITICAL"), strict=True
    ):
        notable = {f.digest for f in batch if f.status == "ACTIVE" and f.severity == "CRITICAL"}
        assert count == len(notable)
    assert sum(data.notable_images(lambda s: True)) > sum(data.notable_images(lambda s: False)) == 0
