"""An upgrade from the AWS sample: its history, written exactly as its Lambda writes it, read
by our ``search`` and carried over by our ``backfill``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import Result

from pipeline import layout
from pipeline.local import LocalAws, registry

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
            registry.event_time(SCANNED + timedelta(seconds=n)),
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
