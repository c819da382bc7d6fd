"""An upgrade from the AWS sample: its history, written exactly as its Lambda writes it, read
by our ``search`` and carried over by our ``backfill``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws, registry
from pipeline import layout
from pipeline.events import event_time

from .sample_stack import write_like_the_sample
from .support import SeededImage, seed_images

CVE = "CVE-2024-2961"
SCANNED = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC)


@pytest.fixture
def ecr(aws_client: Callable[..., Any]) -> Any:
    return aws_client("ecr")


@pytest.fixture
def logs(aws_client: Callable[..., Any]) -> Any:
    return aws_client("logs")


def sample_event(image: SeededImage, when: datetime) -> dict[str, Any]:
    assert image.tag, "the sample cannot log an untagged image"
    return registry.scan_event(
        repository=image.repository, digest=image.digest, tags=[image.tag], time=when
    )


@pytest.fixture
def sample_history(aws: LocalAws, ecr: Any, logs: Any) -> list[SeededImage]:
    """Three images the sample logged: two of one repository (tags with '-'), one of another."""
    images = seed_images(
        aws,
        ecr,
        [
            SeededImage("web/storefront", "release-2026-03", findings=12, cves=[CVE]),
            SeededImage("web/storefront", "v2-rc-1", findings=9, cves=[CVE]),
            SeededImage("payments-api", "1.8.3", findings=6, cves=[CVE]),
            SeededImage("payments-api", "1.9.0", findings=4),
        ],
        completed_at=SCANNED,
    )
    for n, image in enumerate(images):
        write_like_the_sample(ecr, logs, sample_event(image, SCANNED + timedelta(seconds=n)))
    return images


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("engine", ["filter", "insights"])
def test_search_reads_tag_digest_and_time_of_the_samples_events_from_their_streams(
    cli: Callable[..., Result], sample_history: list[SeededImage], engine: str
) -> None:
    found = _json(cli("search", CVE, "--engine", engine, "--rate", "100", "--json"))

    assert (found["images"], found["repositories"]) == (3, 2)
    hits = {(h["repository"], h["tag"], h["image_digest"], h["scan_time"]) for h in found["hits"]}
    assert hits == {
        (
            image.repository,
            image.tag,
            image.digest,
            event_time(SCANNED + timedelta(seconds=n)),
        )
        for n, image in enumerate(sample_history)
        if CVE in image.cves
    }
    assert all(h["package"] != "-" for h in found["hits"])


def test_search_table_of_the_samples_history(
    cli: Callable[..., Result], sample_history: list[SeededImage]
) -> None:
    result = cli("search", CVE, "--rate", "100")

    assert result.exit_code == 0, result.stderr
    assert "release-2026-03" in result.stdout and "v2-rc-1" in result.stdout
    assert "untagged" not in result.stdout
    assert f"{CVE}: 3 images in 2 repositories" in result.stdout


def test_the_sample_streams_parse(logs: Any, sample_history: list[SeededImage]) -> None:
    group = "/aws/ecr/image-scan-findings/web/storefront"
    names = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    ]
    parsed = {layout.parse_stream_name(n) for n in names}
    assert None not in parsed
    assert {(p.tag, p.digest) for p in parsed if p} == {
        (i.tag, i.digest) for i in sample_history if i.repository == "web/storefront"
    }


def _backfill(cli: Callable[..., Result], *args: str) -> dict[str, Any]:
    report: dict[str, Any] = _json(cli("backfill", *args, "--json"))
    return report


def _events(logs: Any, group: str, stream: str) -> list[str]:
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [e["message"] for e in page["events"]]


def test_backfill_counts_the_samples_images_as_logged_by_default(
    cli: Callable[..., Result],
    aws: LocalAws,
    ecr: Any,
    sqs: Any,
    queues: Any,
    sample_history: list[SeededImage],
) -> None:
    [new] = seed_images(aws, ecr, [SeededImage("payments-api", "2.0", findings=3)])

    report = _backfill(cli, "--queue", queues.url)

    actions = {i["image_digest"]: (i["action"], i["skip_reason"]) for i in report["images"]}
    assert actions == {
        **{i.digest: ("skip", "already logged") for i in sample_history},
        new.digest: ("enqueue", None),
    }
    assert report["enqueued"] == 1


def test_relog_sample_logs_the_samples_images_again_beside_its_streams(
    cli: Callable[..., Result],
    aws: LocalAws,
    sqs: Any,
    logs: Any,
    queues: Any,
    sample_history: list[SeededImage],
    handler_env: Callable[[Any], Any],
) -> None:
    group = "/aws/ecr/image-scan-findings/web/storefront"
    before = {
        s["logStreamName"]: _events(logs, group, s["logStreamName"])
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    }
    aws.calls.clear()

    report = _backfill(cli, "--queue", queues.url, "--relog-sample")

    assert report["enqueued"] == len(sample_history)
    assert aws.calls["GetLogEvents"] == len(sample_history)  # one per sample SUMMARY stream
    for n, image in enumerate(sample_history):
        [entry] = [i for i in report["images"] if i["image_digest"] == image.digest]
        written = event_time(SCANNED + timedelta(seconds=n))
        assert entry["action"] == "relog"
        assert entry["sample_scan_times"] == [written]
        # After the sample's stream: no collision, and it sorts as the later scan.
        assert entry["event_time"] == event_time(SCANNED + timedelta(seconds=n + 1))

    stats = handler_env(sqs)
    assert (stats.received, stats.deleted, stats.failed) == (4, 4, 0)

    # The sample's streams are untouched; ours sit beside them, every event with its context.
    after = {
        s["logStreamName"]: _events(logs, group, s["logStreamName"])
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    }
    assert {name: after[name] for name in before} == before
    ours = {name: events for name, events in after.items() if name not in before}
    assert ours and all(
        "imageContext" in json.loads(message) for events in ours.values() for message in events
    )
    findings = sum(len(v) for k, v in ours.items() if not k.startswith("SUMMARY-"))
    assert findings == sum(i.findings for i in sample_history if i.repository == "web/storefront")

    # Search now shows our richer record of each image (the latest scan), one image each.
    found = _json(cli("search", CVE, "--rate", "100", "--json"))
    assert found["images"] == 3
    assert {h["account"] for h in found["hits"]} == {registry.DEFAULT_ACCOUNT}
    assert {h["scan_kind"] for h in found["hits"]} == {"basic"}
    every = _json(cli("search", CVE, "--rate", "100", "--json", "--all-scans"))
    assert every["images"] == 3 and len(every["hits"]) == 2 * len(found["hits"])

    # Done once: a second run finds our SUMMARY events and enqueues nothing.
    again = _backfill(cli, "--queue", queues.url, "--relog-sample")
    assert again["enqueued"] == 0
    assert {i["skip_reason"] for i in again["images"]} == {"already logged"}


def test_relog_sample_dry_run_table(
    cli: Callable[..., Result], sample_history: list[SeededImage]
) -> None:
    result = cli("backfill", "--dry-run", "--relog-sample")

    assert result.exit_code == 0, result.stderr
    assert "relog (sample's at" in result.stdout
    assert "4 of them logged by the AWS sample before" in result.stdout
